"""Technical posts as a feed carries them (HTML), written for the sentence-rule tests.

Each one is full of text that splits like a sentence but must never be shown as one: code and
shell blocks, formulas, bylines, captions, tables of contents, follow prompts.
"""

from __future__ import annotations

CODE_TITLE = "Building a tiny key-value store in C++"
CODE_HTML = """\
<p>Posted by Maria Keller, Staff Engineer, Storage Infrastructure</p>
<p>Our team replaced a slow embedded database with a small append-only key-value store \
written in C++. The new store writes every record to a log file and keeps an in-memory index \
of offsets.</p>
<h2>Getting started</h2>
<p>To build it locally, run:</p>
<pre><code>$ git clone https://git.example.com/kv.git
$ cd kv &amp;&amp; cmake -B build &amp;&amp; cmake --build build
# make install
</code></pre>
<p>The core of the store is a single class that appends to the log and updates the index.</p>
<pre><code class="language-cpp">#include &lt;fstream&gt;
class Store {
 public:
  void put(const std::string&amp; key, const std::string&amp; value);
  std::optional&lt;std::string&gt; get(const std::string&amp; key) const;
};
</code></pre>
<p>Every write is flushed before the index is updated, so a crash never leaves the index \
pointing at missing data. Reads look up the offset in the index and then issue one seek on \
the log file.</p>
<p>When a write fails you will see a trace like this:</p>
<pre>Traceback (most recent call last):
  File "bench.py", line 12, in &lt;module&gt;
ERROR 2024-05-02T10:11:12Z flush failed: disk full
</pre>
<p>Compaction runs in the background and rewrites the log without overwritten keys. \
It keeps disk usage within twice the size of the live data.</p>
<p>In our benchmarks the store handled 180,000 writes per second on a single core, which was \
four times faster than the database it replaced.</p>
<p>The lesson is that a boring append-only design is often fast enough, and it is much \
easier to reason about after a crash.</p>
<p>Follow us on Mastodon for more posts like this.</p>
"""

MATH_TITLE = "How transparency logs prove that a record is included"
MATH_HTML = """\
<p>A transparency log is an append-only list of records whose integrity anyone can check. \
Clients trust the log because every record is hashed into a Merkle tree.</p>
<p>The log stores two files,</p>
<p>one for record data and one for hashes</p>
<p>An inclusion proof for record R has size</p>
<p>O(lg N) allowing the client to verify that R is in the log.</p>
<p>x = H(left || right) + 2</p>
<p>The proof consists of the sibling hashes on the path from the record to the root of the \
tree. A client recomputes the root from those hashes and compares it with the signed tree \
head.</p>
<p>For example, the proof for record 13 in a log with 27 records contains five hashes,</p>
<p>If the recomputed root matches, the record is in the log and nobody can remove it later \
without being detected.</p>
<p>Logs also publish consistency proofs, which show that a newer tree contains every record of \
an older tree.</p>
<p>The same structure is used by certificate transparency, and it scales to billions of \
records because proofs grow only logarithmically.</p>
"""

BYLINE_TITLE = "Mapping buildings across Africa with satellite imagery"
BYLINE_HTML = """\
<div class="post-header"><p>Posted by John Quinn, Software Engineer, Google Research, Ghana \
An accurate record of building footprints is important for population estimation, urban \
planning and humanitarian response.</p></div>
<p>Table of contents</p>
<ul><li>Background</li><li>Method</li><li>Results</li></ul>
<p>Contents: Background, Method, Results</p>
<p>March 3, 2025</p>
<figure><img src="https://img.example.com/map.png" alt="">\
<figcaption>Building footprints detected in Kumasi, shown in red over the satellite \
image.</figcaption></figure>
<p>Image credit: Example Satellite Imaging, used with permission.</p>
<p>We trained a segmentation model on thousands of labelled satellite images from across \
the continent. The model predicts for every pixel whether it belongs to a building.</p>
<p>Many buildings in rural areas are small and have thatched roofs, which makes them hard to \
tell apart from the surrounding land. We added training examples from those regions to close \
the gap.</p>
<p>Figure 2: Precision and recall by region.</p>
<p>The resulting dataset contains 516 million building outlines and covers most of the \
continent.</p>
<p>Researchers and aid organisations can download the data for free and use it to plan \
services where they are needed most.</p>
<p>Subscribe to our newsletter for updates.</p>
"""

KO_TITLE = "로그 파이프라인의 지연을 줄인 방법"
KO_HTML = """\
<p>글: 김민수 | 데이터 플랫폼팀</p>
<p>2025년 3월 4일</p>
<p>우리 팀은 하루 수십억 건의 로그를 수집하는 파이프라인을 운영하고 있다. \
최근 로그가 검색에 나타나기까지 10분 이상 걸리는 문제가 자주 발생했다.</p>
<p>목차</p>
<p>원인은 다음과 같다:</p>
<pre>$ kafka-consumer-groups --describe --group logs
ERROR 2025-03-01 lag exceeded threshold
</pre>
<p>수집기가 메시지를 한 번에 하나씩 처리해서 처리량이 부족했습니다. \
그래서 메시지를 묶어서 한 번에 쓰도록 수집기를 바꿨습니다.</p>
<figure><figcaption>그림 1. 배치 크기에 따른 처리량</figcaption></figure>
<p>배치 크기와 처리량의 관계</p>
<p>그 결과 검색 지연은 평균 40초로 줄었고, 장애도 크게 감소했다. \
앞으로는 파티션 수도 자동으로 조절할 계획이다.</p>
<p>구독하기</p>
"""

JA_TITLE = "CIの実行時間を3分の1にした話"
JA_HTML = """\
<p>執筆: 山田太郎（基盤チーム）</p>
<p>2025年2月10日</p>
<p>私たちのCIは1回の実行に平均30分かかっており、開発者の待ち時間が問題になっていました。\
本記事では、テストの並列化とキャッシュの導入で10分まで短縮した方法を紹介します。</p>
<p>目次</p>
<p>まず、実行時間の内訳を調べました:</p>
<pre>$ make test -j8
FAILED tests/test_api.py::test_login
</pre>
<p>テストの実行が全体の70%を占めており、その多くは互いに独立していました。\
そこでテストを8つのジョブに分割し、並列に実行するようにしました。</p>
<figure><figcaption>図1 ジョブ数と実行時間の関係</figcaption></figure>
<p>さらに依存パッケージをキャッシュし、毎回のインストールを不要にしました。\
これにより、実行時間は平均10分に短縮されました！</p>
<p>今後もCIの実行時間を計測し、遅いテストを継続的に改善していきます。</p>
<p>この記事をシェアする</p>
"""
