"""Real-shaped engineering-blog articles written for these tests (not copied from anywhere)."""

from __future__ import annotations

EN_TITLE = "How we cut checkout latency in half with a regional cache"
EN_URL = "https://engineering.example.com/2026/11/regional-cache"
EN_ARTICLE = """\
Every millisecond at checkout costs us conversions, and last spring our p99 latency for the \
cart service crept past 900 ms. This post explains how the payments team rebuilt the read path \
around a regional cache, what went wrong on the way, and what we would do differently.

Why the old design was slow
The cart service called the pricing API for every line item, e.g. one call per product. \
Each call crossed two regions, so a cart with 12 items paid for 12 round trips of ~38.5 ms. \
Dr. Alvarez, who leads the pricing team, measured that 71% of those lookups returned a price \
that had not changed in the last hour.

What we built
We placed a regional cache in front of the pricing API, keyed by product and currency, with a \
five-minute TTL and explicit invalidation on price changes. The cache runs on v2.0.1 of our \
internal key-value store, see https://docs.example.com/kv/v2.0.1/overview.html for details. \
Writes from the pricing service publish an invalidation event, so a price change reaches every \
region within two seconds.

Rolling it out
We shipped the cache behind a flag to 1% of traffic, then 10%, then everyone over three weeks. \
During the 10% stage a bug in the invalidation consumer let stale prices live for 40 minutes, \
which the reconciliation job caught before any order was charged. Questions went to \
payments-oncall@example.com while the flag was on.

Results
The regional cache cut checkout p99 latency from 910 ms to 430 ms and reduced calls to the \
pricing API by 83%. Cache hit rates settled at 94% in the U.S. and 91% in Europe. \
The lesson: measure how often your data really changes before you pay for every lookup, because \
a small regional cache with honest invalidation is often the cheapest latency win available.

Continue reading on Medium »
Share this story
The post How we cut checkout latency in half appeared first on Example Engineering.
"""

KO_TITLE = "검색 인덱스 색인 시간을 6시간에서 40분으로 줄인 방법"
KO_URL = "https://tech.example.kr/posts/search-indexing"
KO_ARTICLE = """\
우리 팀은 매일 밤 상품 검색 인덱스를 새로 만드는데, \
색인 작업이 6시간 넘게 걸려 아침 배포를 자주 막았다. \
이 글에서는 색인 파이프라인을 병렬화하고 증분 색인을 도입해 40분으로 줄인 과정을 공유한다.

기존 파이프라인의 문제
기존 파이프라인은 하나의 배치 작업이 전체 상품 2억 건을 순서대로 읽어 색인했다. \
상품 데이터베이스를 읽는 단계가 전체 시간의 70%를 차지했고, 실패하면 처음부터 다시 시작해야 했다. \
운영자는 새벽마다 작업 상태를 확인해야 했어요.

병렬 색인과 증분 색인
우리는 상품을 카테고리 단위로 나누어 64개의 작업자가 동시에 색인하도록 바꿨다. \
또한 전날 이후 변경된 상품만 골라 색인하는 증분 색인을 도입해 매일 처리하는 상품 수를 90% 줄였다. \
증분 색인 덕분에 색인 파이프라인 전체가 상품 변경량에 비례해 동작하게 되었다.

결과와 교훈
이제 검색 인덱스 색인은 평균 40분 만에 끝나고, 실패한 구간만 다시 실행할 수 있다. \
결론적으로 전체를 다시 만드는 대신 바뀐 것만 색인하는 구조가 가장 큰 개선을 가져왔다.

구독하기
공유하기
"""

JA_TITLE = "モバイルアプリの起動時間を半分にした話"
JA_URL = "https://tech.example.jp/entry/app-startup"
JA_ARTICLE = """\
私たちのアプリは起動に平均4.2秒かかっており、ユーザーからの不満が増えていました。\
本記事では、起動処理を見直して2.1秒まで短縮した取り組みを紹介します。

原因の調査
まず計測ツールで起動処理を分析したところ、初期化処理の60%が画面表示に不要な処理でした。\
特に広告SDKと分析SDKの初期化が同期的に実行され、メインスレッドを長く占有していました。

改善の内容
不要な初期化処理を遅延実行に切り替え、画面表示に必要な処理だけを先に実行するようにしました。\
さらに、起動時に読み込む設定ファイルをキャッシュし、ネットワーク通信を待たずに画面を表示できるようにしました。

結果
これらの改善により、起動時間は平均4.2秒から2.1秒に短縮されました！\
今後も起動処理の計測を続け、新しい機能が起動時間を悪化させないよう監視していきます。

続きを読む
この記事をシェアする
"""

# The most central sentence (it repeats the vocabulary of all the others) is near the end;
# the opening sentences are generic scene-setting that share little with the rest.
CENTRAL_LATE_TITLE = "Notes from the platform offsite"
CENTRAL_LATE_ARTICLE = """\
The weather in Lisbon was unusually warm for November this year. \
Our team travelled from four cities and met at a small venue near the river. \
Breakfast every morning featured pastries that nobody could stop talking about. \
The first workshop covered database migration tooling for the billing service. \
A second session reviewed database connection pooling in the billing service. \
Another group measured migration rollback time for the billing database. \
Later we discussed connection pooling limits during billing database migrations. \
Finally the team agreed that billing database migrations need connection pooling, rollback \
tooling and migration time limits before the billing service moves to the new database. \
Dinner was at a seafood place with excellent grilled sardines.
"""
