"""Posts with their own section headings, as feeds carry them (HTML), for the section tests."""

from __future__ import annotations

EN_TITLE = "Rebuilding our ingestion pipeline for ten times the traffic"
EN_HTML = """\
<p>Posted by Jane Doe, Software Engineer, Data Platform</p>
<p>Our team rebuilt the ingestion pipeline this year so that it handles ten times the traffic. \
The new design cut costs and made the system far easier to operate.</p>
<h2>Background</h2>
<p>The old pipeline was built around a single queue that every producer shared. When traffic \
spiked, the queue backed up and consumers fell hours behind. We spent many nights paging \
engineers to drain it by hand.</p>
<h2>Partitioning by tenant</h2>
<p>We split the queue into partitions keyed by tenant, so one noisy tenant cannot starve the \
rest. Each partition has its own consumer group that scales with its lag. Partitions are \
rebalanced automatically when a consumer dies.</p>
<pre><code>$ kubectl scale deployment consumer --replicas=12</code></pre>
<h3>Results:</h3>
<p>Consumer lag dropped from hours to seconds during the busiest week of the year. Costs fell \
by forty percent because idle consumers now scale to zero. On-call pages for the pipeline went \
from weekly to almost never.</p>
<h2>What we would do differently</h2>
<p>We would have measured per-tenant lag from the first day instead of the total lag. The \
total hid which tenants suffered, and that slowed down every investigation we ran.</p>
<h2>Conclusion</h2>
<p>Partitioning by tenant was the single change that made the pipeline predictable. We \
recommend that teams with shared queues measure lag per tenant before they buy hardware.</p>
<h2>Acknowledgements</h2>
<p>Thanks to the many people across the platform team who helped with this long migration.</p>
"""

KO_TITLE = "주문 알림 시스템을 다시 만든 이야기"
KO_HTML = """\
<p>주문 알림 시스템은 하루 수백만 건의 메시지를 고객에게 보낸다. \
이 글에서는 알림이 늦게 도착하던 문제를 어떻게 해결했는지 소개합니다.</p>
<h2>배경</h2>
<p>기존 시스템은 모든 알림을 하나의 큐에 넣고 순서대로 처리했습니다. \
행사 기간에는 알림이 몇 분씩 늦게 도착하는 일이 잦았습니다.</p>
<h2>설계</h2>
<p>알림을 중요도에 따라 세 개의 큐로 나누었습니다. \
결제 알림은 가장 먼저 처리되도록 별도의 작업자를 두었습니다.</p>
<h2>결과</h2>
<p>행사 기간에도 결제 알림은 1초 안에 도착하게 되었습니다. \
전체 처리량도 이전보다 세 배 가까이 늘었습니다.</p>
<h2>마치며</h2>
<p>큐를 나누는 작은 변화가 고객 경험을 크게 바꾸었습니다. \
앞으로도 알림 지연을 꾸준히 측정하고 개선해 나갈 계획입니다.</p>
"""

JA_TITLE = "検索インデックスの更新を速くした話"
JA_HTML = """\
<p>私たちの検索サービスでは、商品情報の更新が検索結果に反映されるまで時間がかかっていました。\
本記事では、その遅延を数秒まで短縮した方法を紹介します。</p>
<h2>課題</h2>
<p>従来はすべての商品を一時間ごとにまとめて再インデックスしていました。\
そのため、価格の変更がすぐに反映されないという問題がありました。</p>
<h2>解決策</h2>
<p>変更された商品だけをイベントとして受け取り、差分で更新するようにしました。\
更新処理は複数のワーカーで並列に実行しています。</p>
<h2>まとめ</h2>
<p>差分更新の導入により、反映までの時間は平均三秒になりました。\
今後は在庫情報も同じ仕組みで扱う予定です。</p>
"""

# Headings as paragraphs that are nothing but bold text (common in Medium and Blogger posts).
BOLD_TITLE = "How we cut our build times in half"
BOLD_HTML = """\
<p>Slow builds were costing every engineer on the team an hour a day. Over one quarter we \
cut the median build time from twenty minutes to under ten.</p>
<p><strong>Caching the dependency graph</strong></p>
<p>The build tool recomputed the whole dependency graph on every run. We cached the graph \
between runs and invalidated it only when a build file changed.</p>
<p><b>Splitting the test suite</b></p>
<p>The slowest tests ran on a single machine after everything else had finished. We split \
them across eight machines, which removed the long tail at the end of each build.</p>
<p>We also learned that <strong>measuring every step</strong> matters more than any single \
trick we tried.</p>
"""

# Without headings: lead and points as before, one section without a heading.
FLAT_TITLE = "Why we moved our metrics to a columnar store"
FLAT_HTML = """\
<p>Our metrics database struggled once we passed a billion samples a day. Queries that used to \
take a second started to take a minute during incidents, exactly when people needed them.</p>
<p>A columnar store keeps each metric's values together, which compresses them far better. \
The same data now takes a fifth of the disk space it used to.</p>
<p>Dashboards load in under a second again, even over a month of data. Engineers on call \
no longer wait for graphs while they debug an outage.</p>
<p>The migration took three months because every dashboard had to be checked by hand. In the \
end we recommend measuring query latency before choosing any database for metrics.</p>
"""
