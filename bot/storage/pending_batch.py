"""The stories waiting for many channels at once, from one read (brief planning in batches).

Same rule as ``SubscriptionsRepository.pending_stories`` for each channel: stories stored after
its watermark up to ``upto``, not backfill, visible through a story key of a feed it chose (or
of a shared feed, for "all sources"), oldest first, at most ``limit``, each labelled with the
feed that stored it if the channel follows that one, else with the lowest-id feed it follows
that also carries it. The difference is the cost: channels that chose their own sources, or sit
at different watermarks, share one read of the window after the lowest watermark instead of a
query (and a relabelling query) each.
"""

from __future__ import annotations

import bisect
import heapq
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from bot.core.briefs import StoryView
from bot.storage.feed_links import SHARED
from bot.storage.models import (
    Feed,
    Story,
    StoryKey,
    StorySummary,
    Subscription,
    SubscriptionFeed,
)
from bot.storage.story_views import view_of

# Stories read for one batch. A channel the window cannot settle (the window ended before the
# channel had `limit` stories and before `upto`) is read on its own, as before batching.
WINDOW = 5000
# Columns a brief never shows: a story's full text can be 100 KB, times the window.
_UNSHOWN = (defer(Story.content_text), defer(Story.search_title), defer(Story.search_body))


@dataclass
class _Window:
    """The candidate stories in id order, with every feed each one is keyed under."""

    ids: list[int] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)
    primary: list[Feed] = field(default_factory=list)
    digests: list[dict[str, Any] | None] = field(default_factory=list)
    keyed: list[list[Feed]] = field(default_factory=list)  # by feed id
    by_feed: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    shared: list[int] = field(default_factory=list)  # positions visible via a shared feed
    complete: bool = True  # every story up to `upto` is in it


async def _read_window(
    s: AsyncSession, subs: Sequence[Subscription], low: int, upto: int
) -> _Window:
    chosen = select(SubscriptionFeed.feed_id).where(
        SubscriptionFeed.subscription_id.in_([sub.id for sub in subs])
    )
    via: ColumnElement[bool] = StoryKey.feed_id.in_(chosen)
    if any(sub.all_sources for sub in subs):
        shared_feeds = select(Feed.id).where(Feed.origin.in_(SHARED))
        via = or_(via, StoryKey.feed_id.in_(shared_feeds))
    rows = (
        await s.execute(
            select(Story, Feed, StorySummary.data)
            .join(Feed, Feed.id == Story.feed_id)
            .outerjoin(
                StorySummary,
                and_(
                    StorySummary.story_id == Story.id,
                    StorySummary.content_hash == Story.content_hash,
                ),
            )
            .where(
                Story.id > low,
                Story.id <= upto,
                Story.backfill.is_(False),
                exists().where(StoryKey.story_id == Story.id, via),
            )
            .options(*_UNSHOWN)
            .order_by(Story.id)
            .limit(WINDOW)
        )
    ).all()
    w = _Window(complete=len(rows) < WINDOW)
    for story, feed, digest in rows:
        w.ids.append(story.id)
        w.stories.append(story)
        w.primary.append(feed)
        w.digests.append(digest)
        w.keyed.append([])
    if not rows:
        return w
    position = {sid: i for i, sid in enumerate(w.ids)}
    keys = await s.execute(
        select(StoryKey.story_id, Feed)
        .join(Feed, Feed.id == StoryKey.feed_id)
        .where(StoryKey.story_id >= w.ids[0], StoryKey.story_id <= w.ids[-1])
        .order_by(Feed.id)
    )
    for story_id, feed in keys.all():
        i = position.get(story_id) if story_id is not None else None
        if i is not None:
            w.keyed[i].append(feed)
    for i, feeds in enumerate(w.keyed):
        for feed in feeds:
            w.by_feed[feed.id].append(i)
        if any(feed.origin in SHARED for feed in feeds):
            w.shared.append(i)
    return w


def _positions(w: _Window, sub: Subscription, chosen: set[int], limit: int) -> list[int]:
    """Window positions visible to ``sub`` after its watermark, in id order, at most limit."""
    start = bisect.bisect_right(w.ids, sub.watermark)
    lists: list[Iterable[int]] = []
    for source in [w.by_feed.get(f, []) for f in sorted(chosen)] + (
        [w.shared] if sub.all_sources else []
    ):
        lists.append(source[bisect.bisect_left(source, start) :])
    out: list[int] = []
    for i in heapq.merge(*lists):
        if out and out[-1] == i:
            continue  # one story under two feeds the channel follows
        out.append(i)
        if len(out) == limit:
            break
    return out


async def pending_for_many(
    s: AsyncSession, subs: Sequence[Subscription], *, upto: int, limit: int
) -> dict[int, list[StoryView]]:
    """Subscription id -> its pending stories, for the channels one window settles.

    Channels missing from the answer need ``pending_stories`` of their own.
    """
    if not subs:
        return {}
    low = min(sub.watermark for sub in subs)
    w = await _read_window(s, subs, low, upto) if low < upto else _Window()
    views: dict[tuple[int, int], StoryView] = {}
    answer: dict[int, list[StoryView]] = {}
    for sub in subs:
        chosen = {f.feed_id for f in sub.feeds}
        found = _positions(w, sub, chosen, limit)
        if len(found) < limit and not w.complete:
            continue

        def mine(feed: Feed, sub: Subscription = sub, chosen: set[int] = chosen) -> bool:
            return feed.id in chosen or (sub.all_sources and feed.origin in SHARED)

        out: list[StoryView] = []
        for i in found:
            label = w.primary[i]
            if not mine(label):
                label = next((f for f in w.keyed[i] if mine(f)), label)
            key = (i, label.id)
            if key not in views:
                views[key] = view_of(
                    w.stories[i], label.key, label.title, label.color, w.digests[i]
                )
            out.append(views[key])
        answer[sub.id] = out
    return answer
