"""Setting channels up and planning their briefs into the outbox (Discord-free).

Planning is where exactly-once is decided: a brief's stories are those stored after the
channel's watermark up to a snapshot of the newest id; the outbox row and the watermark move
together (see DeliveriesRepository.commit_plan), so a crash, a restart or a second process can
neither lose nor repeat a brief. Sending is the publisher's job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot.core.briefs import addressing, render
from bot.core.briefs.builder import Brief, Filters, StoryView, build_brief, matches
from bot.core.briefs.schedule import cadence_text, local_day, next_brief_at
from bot.core.briefs.setup_input import check_cadence, check_timezone, parse_time
from bot.core.errors import NotFoundError, UserInputError
from bot.core.i18n import Localizer, Messages
from bot.storage.deliveries_repo import DeliveriesRepository, PlanCommit, PlannedDelivery
from bot.storage.models import Subscription
from bot.storage.subscriptions_repo import (
    SHARED,
    FeedRow,
    SubscriptionsRepository,
    feeds_visible_to,
)

log = logging.getLogger(__name__)

MODES = ("brief", "realtime")
MAX_KEYWORD = 100
PLAN_LIMIT = 1000  # stories per plan; a channel further behind catches up over several


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    channel_id: int
    mode: str
    timezone: str
    brief_time: str
    sources: list[str]  # feed keys, or ["all catalog sources"]
    include: list[str]
    exclude: list[str]
    next_brief_at: datetime | None
    waiting: int
    paused_reason: str | None
    cadence: str = "daily"  # "daily", "on weekdays", "every Monday"
    every: str = "daily"  # the same, as data (for other languages)
    weekday: int | None = None
    ping_role_id: int | None = None  # the role its briefs mention
    channel_kind: str = "text"  # "forum": each brief is a new forum post


@dataclass(frozen=True, slots=True)
class PlanResult:
    planned: bool
    stories: int
    deliveries: int


def filters_of(sub: Subscription) -> Filters:
    return Filters(
        include=tuple(sorted(f.keyword for f in sub.filters if f.kind == "include")),
        exclude=tuple(sorted(f.keyword for f in sub.filters if f.kind == "exclude")),
    )


def _sources_of(sub: Subscription) -> tuple[object, ...]:
    """What decides which stories a channel is waiting for: equal keys, equal stories."""
    return (sub.watermark, sub.all_sources, frozenset(f.feed_id for f in sub.feeds))


def _stamped(d: PlannedDelivery, watermark: int, upto: int) -> PlannedDelivery:
    """A rendered brief for a channel at this watermark: the same messages, its own range
    (the dedupe key names the range, so a re-plan of the same range is the same row)."""
    if d.kind != "brief" or (d.story_from, d.story_to) == (watermark, upto):
        return d
    return replace(d, dedupe_key=f"brief:{watermark}-{upto}", story_from=watermark, story_to=upto)


def _addressed(d: PlannedDelivery, sub: Subscription) -> PlannedDelivery:
    """This channel's ping and forum post applied to a rendered (possibly shared) delivery."""
    # Only a brief with stories pings; "nothing new today" is not worth a notification.
    ping = sub.ping_role_id if d.kind == "brief" else None
    payload = addressing.addressed(d.payload, ping_role_id=ping, forum=sub.channel_kind == "forum")
    return d if payload is d.payload else replace(d, payload=payload)


@dataclass
class _Memo:
    """What one planning batch computed once for all channels that share it."""

    rendered: dict[tuple[object, ...], list[PlannedDelivery]] = field(default_factory=dict)
    next_at: dict[tuple[object, ...], datetime] = field(default_factory=dict)


class BriefService:
    def __init__(
        self,
        subscriptions: SubscriptionsRepository,
        deliveries: DeliveriesRepository,
        *,
        clock: Callable[[], datetime],
        per_source_cap: int = 5,
        post_when_empty: bool = False,
        digest_formatter: render.DigestFormatter | None = None,
        summary_wait: timedelta = timedelta(0),
        localizer: Localizer | None = None,
    ) -> None:
        self.subs = subscriptions
        self._localizer = localizer or Localizer()
        self.outbox = deliveries
        self._clock = clock
        self._cap = per_source_cap
        self._post_when_empty = post_when_empty
        self._digest = digest_formatter
        self._summary_wait = summary_wait
        # Channel -> when planning first held it back for summaries. Per process on purpose:
        # a restarted or newly leading sender waits afresh, so catch-up briefs after downtime
        # also get their summaries, and the wait stays bounded either way.
        self._held_since: dict[int, datetime] = {}

    # -- guilds and channels (gateway events) -----------------------------------------------
    async def guild_seen(
        self,
        guild_id: int,
        name: str,
        system_channel_id: int | None,
        *,
        locale: str | None = None,
    ) -> None:
        """The bot is in this guild (joined, or it became available): remember it, and the
        language its briefs are written in (Discord's preferred_locale)."""
        await self.subs.upsert_guild(guild_id, name, system_channel_id, self._clock(), locale)

    async def guild_left(self, guild_id: int) -> int:
        """The bot was removed: the guild's channels stop; returns subscriptions removed."""
        return await self.subs.guild_left(guild_id, self._clock())

    async def channel_deleted(self, channel_id: int) -> bool:
        return await self.subs.channel_deleted(channel_id)

    # -- configuration -------------------------------------------------------------------
    async def setup(
        self,
        *,
        guild_id: int,
        channel_id: int,
        time_text: str,
        timezone: str,
        mode: str,
        source_keys: Sequence[str] | None,
        by: int | None,
        every: str = "daily",
        day: str | None = None,
        ping_role_id: int | None = None,
        channel_kind: str = "text",
    ) -> tuple[Subscription, bool]:
        """Create or change a channel's brief; a ping role given is set, None keeps the
        channel's (`unping` clears it)."""
        hhmm = parse_time(time_text)
        check_timezone(timezone)
        if mode not in MODES:
            raise UserInputError("Mode must be `brief` (daily) or `realtime`.")
        if channel_kind not in addressing.KINDS:
            raise UserInputError("Briefs go to a text or a forum channel.")
        if ping_role_id is not None and mode == "realtime":
            raise UserInputError(
                "A role ping goes with a brief's header; realtime stories ping nobody. "
                "Leave `ping` out, or use the daily brief."
            )
        if channel_kind == "forum" and mode == "realtime":
            raise UserInputError(
                "A forum channel gets a daily brief as one post; realtime posting needs a "
                "text channel."
            )
        weekday = check_cadence(every, day)
        feed_ids = None
        if source_keys:
            feed_ids = await self.resolve_sources(guild_id, source_keys)
        now = self._clock()
        next_at = (
            next_brief_at(hhmm, timezone, after=now, every=every, weekday=weekday)
            if mode == "brief"
            else None
        )
        return await self.subs.upsert(
            guild_id=guild_id,
            channel_id=channel_id,
            mode=mode,
            timezone=timezone,
            brief_time=f"{hhmm[0]:02d}:{hhmm[1]:02d}",
            next_brief_at=next_at,
            feed_ids=feed_ids,
            created_by=by,
            now=now,
            every=every,
            weekday=weekday,
            ping_role_id=ping_role_id,
            channel_kind=channel_kind,
        )

    async def unping(self, channel_id: int) -> int | None:
        """Stop a channel's briefs mentioning a role; returns the role it mentioned."""
        sub = await self.require(channel_id)
        await self.subs.set_ping(channel_id, None, self._clock())
        return sub.ping_role_id

    async def role_deleted(self, role_id: int) -> int:
        """The role was deleted in Discord: channels that pinged it ping nobody now."""
        return await self.subs.role_deleted(role_id, self._clock())

    async def sources(self, guild_id: int | None) -> list[FeedRow]:
        return await feeds_visible_to(self.subs.sessions, guild_id)

    async def resolve_sources(self, guild_id: int, keys: Sequence[str]) -> list[int]:
        known = {f.key: f.id for f in await self.sources(guild_id)}
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise UserInputError(
                "Unknown source(s): {keys}. `/sources` lists them all.",
                keys=", ".join(unknown[:5]),
            )
        return [known[k] for k in keys]

    async def require(self, channel_id: int) -> Subscription:
        sub = await self.subs.get(channel_id)
        if sub is None:
            raise NotFoundError("That channel has no brief set up. Use `/brief setup` there first.")
        return sub

    async def subscribe(self, guild_id: int, channel_id: int, key: str) -> tuple[str, str]:
        sub = await self.require(channel_id)
        (feed_id,) = await self.resolve_sources(guild_id, [key])
        feeds = await self.sources(guild_id)
        feed = next(f for f in feeds if f.id == feed_id)
        current = {f.feed_id for f in sub.feeds}
        if (sub.all_sources and feed.origin in SHARED) or feed_id in current:
            return "already", feed.title  # (what happened, the source) for render_admin
        await self.subs.set_sources(
            channel_id, all_sources=sub.all_sources, feed_ids=[*current, feed_id], now=self._clock()
        )
        return "added", feed.title

    async def unsubscribe(self, guild_id: int, channel_id: int, key: str) -> tuple[str, str]:
        sub = await self.require(channel_id)
        (feed_id,) = await self.resolve_sources(guild_id, [key])
        feeds = await self.sources(guild_id)
        feed = next(f for f in feeds if f.id == feed_id)
        current = {f.feed_id for f in sub.feeds}
        if sub.all_sources:
            # Leaving "everything": keep every other catalog source, explicitly.
            current |= {f.id for f in feeds if f.origin in SHARED}
        if feed_id not in current:
            return "absent", feed.title
        current.discard(feed_id)
        await self.subs.set_sources(
            channel_id, all_sources=False, feed_ids=sorted(current), now=self._clock()
        )
        return "removed", feed.title

    async def set_filter(self, channel_id: int, kind: str, keyword: str | None) -> int:
        """Add a keyword filter (or clear them all); returns how many waiting stories pass."""
        await self.require(channel_id)
        if keyword is not None:
            keyword = " ".join(keyword.split())
            if not keyword or len(keyword) > MAX_KEYWORD:
                raise UserInputError("A keyword must be 1 to {max} characters.", max=MAX_KEYWORD)
        await self.subs.set_filter(channel_id, kind, keyword)
        sub = await self.require(channel_id)
        waiting = await self.subs.pending_stories(sub)
        return build_brief(
            waiting,
            filters=filters_of(sub),
            at_local=self._clock(),
            per_source_cap=len(waiting) or 1,
        ).total

    async def stop(self, channel_id: int) -> None:
        await self.require(channel_id)
        await self.subs.remove(channel_id)

    async def status(self, guild_id: int) -> list[ChannelStatus]:
        feeds = {f.id: f for f in await self.sources(guild_id)}
        out: list[ChannelStatus] = []
        for sub in await self.subs.for_guild(guild_id):
            filters = filters_of(sub)
            sources = (["all catalog sources"] if sub.all_sources else []) + sorted(
                feeds[f.feed_id].key for f in sub.feeds if f.feed_id in feeds
            )
            out.append(
                ChannelStatus(
                    channel_id=sub.channel_id,
                    mode=sub.mode,
                    timezone=sub.timezone,
                    brief_time=sub.brief_time,
                    sources=sources,
                    include=list(filters.include),
                    exclude=list(filters.exclude),
                    next_brief_at=sub.next_brief_at,
                    waiting=await self.subs.count_pending(sub),
                    paused_reason=sub.paused_reason,
                    cadence=cadence_text(sub.every, sub.weekday),
                    every=sub.every,
                    weekday=sub.weekday,
                    ping_role_id=sub.ping_role_id,
                    channel_kind=sub.channel_kind,
                )
            )
        return out

    # -- the brief -----------------------------------------------------------------------
    async def preview(self, channel_id: int) -> Brief:
        """What the next brief would hold right now; marks nothing."""
        sub = await self.require(channel_id)
        stories = await self.subs.pending_stories(sub)
        return build_brief(
            stories, filters=filters_of(sub), at_local=self._clock(), per_source_cap=self._cap
        )

    async def plan_due(self, batch: int = 500) -> int:
        """Plan every due channel; one failing channel never stops the others.

        Works in batches; a channel whose planning fails stays due, so it is remembered
        and skipped for the rest of this tick instead of being retried in a loop.
        """
        planned = 0
        failed: set[int] = set()
        self._forget_old_holds(self._clock())
        while True:
            due = [
                s
                for s in await self.subs.due(self._clock(), limit=batch + len(failed))
                if s.id not in failed
            ]
            planned += await self._plan_batch(due, failed)
            if len(due) < batch:
                return planned

    async def _plan_batch(self, subs: Sequence[Subscription], failed: set[int]) -> int:
        """Plan many channels with one snapshot, shared reads and renders, one commit.

        The stories of the whole batch are read together (one window after the lowest
        watermark; a channel it cannot settle is read alone), once per distinct watermark
        and sources; the same stories in the same zone, mode and filters make the same
        messages, so those are rendered once, whatever the watermark. Thousands of channels
        that all fire at 09:00 cost a handful of queries instead of three round trips each.
        """
        now = self._clock()
        upto = await self.subs.max_story_id()
        sources = {sub.id: _sources_of(sub) for sub in subs}
        readers = {key: sub for sub in subs for key in [sources[sub.id]]}
        try:
            read = await self.subs.pending_for_many(
                list(dict.fromkeys(readers.values())), upto=upto, limit=PLAN_LIMIT
            )
        except Exception:
            # The shared read is an optimisation: each channel can still be read on its own.
            log.warning("batched story read failed; reading channel by channel", exc_info=True)
            read = {}
        pending = {key: read[sub.id] for key, sub in readers.items() if sub.id in read}
        memo = _Memo()
        commits: list[tuple[Subscription, PlanCommit]] = []
        for sub in subs:
            try:
                seen = sources[sub.id]
                if seen not in pending:
                    pending[seen] = await self.subs.pending_stories(
                        sub, upto=upto, limit=PLAN_LIMIT
                    )
                if self._holds_for_summaries(sub, pending[seen], now):
                    failed.add(sub.id)  # still due: the next tick looks again
                    continue
                commit = self._commit_for(sub, pending[seen], now, upto, memo)
            except Exception:
                failed.add(sub.id)
                log.exception("planning a brief failed", extra={"channel_id": sub.channel_id})
                continue
            if commit is None:
                failed.add(sub.id)  # nothing to do now; never revisit it this tick
            else:
                commits.append((sub, commit))
        try:
            results = await self.outbox.commit_plans([c for _, c in commits], now)
        except Exception:
            # One bad plan must not hold back the rest: land them one by one instead.
            log.warning("batched plan commit failed; committing channel by channel", exc_info=True)
            results = []
            for sub, commit in commits:
                try:
                    results.append((await self.outbox.commit_plans([commit], now))[0])
                except Exception:
                    results.append(None)
                    log.exception("planning a brief failed", extra={"channel_id": sub.channel_id})
        planned = 0
        for (sub, _), inserted in zip(commits, results, strict=True):
            if inserted is None:
                failed.add(sub.id)
            else:
                self._held_since.pop(sub.id, None)
                planned += inserted
        return planned

    def _holds_for_summaries(
        self, sub: Subscription, stories: Sequence[StoryView], now: datetime
    ) -> bool:
        """Whether a due channel waits a little for summaries still being made.

        A story without a stored summary would go out with the feed's own text, which is
        worse than the digest a worker is about to store; so planning holds the channel until
        every story it would show has one, at most ``summary_wait`` from the first hold.
        """
        if self._summary_wait <= timedelta(0):
            return False
        filters = filters_of(sub)
        if all(s.digest is not None for s in stories if matches(s, filters)):
            return False
        since = self._held_since.setdefault(sub.id, now)
        if now - since < self._summary_wait:
            return True
        log.info(
            "posting without every summary after waiting %ss",
            self._summary_wait.total_seconds(),
            extra={"channel_id": sub.channel_id},
        )
        return False

    def _forget_old_holds(self, now: datetime) -> None:
        """Holds of channels that were removed or re-planned elsewhere need not live forever."""
        stale = now - 10 * max(self._summary_wait, timedelta(minutes=1))
        self._held_since = {k: t for k, t in self._held_since.items() if t > stale}

    async def plan_now(self, channel_id: int) -> PlanResult:
        sub = await self.require(channel_id)
        return await self.plan(sub, scheduled=False)

    async def plan(self, sub: Subscription, *, scheduled: bool) -> PlanResult:
        now = self._clock()
        upto = await self.subs.max_story_id()
        stories = await self.subs.pending_stories(sub, upto=upto, limit=PLAN_LIMIT)
        commit = self._commit_for(sub, stories, now, upto, scheduled=scheduled)
        if commit is None:
            return PlanResult(planned=False, stories=0, deliveries=0)
        inserted = (await self.outbox.commit_plans([commit], now))[0]
        if not inserted:  # lost to another planner, or nothing new to post
            return PlanResult(planned=False, stories=0, deliveries=0)
        shown = sum(len(d.payload.get("story_ids", [])) for d in commit.deliveries)
        return PlanResult(planned=True, stories=shown, deliveries=inserted)

    def _commit_for(
        self,
        sub: Subscription,
        stories: list[StoryView],
        now: datetime,
        upto: int,
        memo: _Memo | None = None,
        *,
        scheduled: bool = True,
    ) -> PlanCommit | None:
        """What planning this channel writes; None when there is nothing to write at all."""
        new_watermark = stories[-1].id if len(stories) == PLAN_LIMIT else max(upto, sub.watermark)
        memo = memo if memo is not None else _Memo()
        next_at = None
        if sub.mode == "brief" and scheduled:
            fired = sub.next_brief_at or now
            when = (sub.brief_time, sub.timezone, fired, sub.every, sub.weekday)
            if when not in memo.next_at:
                memo.next_at[when] = next_brief_at(
                    parse_time(sub.brief_time),
                    sub.timezone,
                    after=max(now, fired),
                    last_local_day=local_day(fired, sub.timezone),
                    every=sub.every,
                    weekday=sub.weekday,
                )
            next_at = memo.next_at[when]
        told = tuple((s.id, s.source_key) for s in stories)
        shape = (told, sub.mode, filters_of(sub), sub.timezone, scheduled, self._t(sub).locale)
        if shape not in memo.rendered:
            memo.rendered[shape] = self._deliveries(
                sub, stories, now, new_watermark, scheduled=scheduled
            )
        deliveries = [
            _addressed(_stamped(d, sub.watermark, new_watermark), sub) for d in memo.rendered[shape]
        ]
        if not deliveries and new_watermark == sub.watermark and next_at is None:
            return None
        return PlanCommit(
            sub_id=sub.id,
            channel_id=sub.channel_id,
            expected_watermark=sub.watermark,
            new_watermark=new_watermark,
            next_brief_at=next_at,
            deliveries=deliveries,
        )

    def _t(self, sub: Subscription) -> Messages:
        """The language of a channel's posts: its guild's preferred locale (from the database:
        the sender may run without a gateway to ask)."""
        return self._localizer.messages(getattr(sub, "guild_locale", None))

    def _deliveries(
        self,
        sub: Subscription,
        stories: list[StoryView],
        now: datetime,
        upto: int,
        *,
        scheduled: bool = True,
    ) -> list[PlannedDelivery]:
        tz = sub.timezone
        t = self._t(sub)
        if sub.mode == "realtime":
            filters = filters_of(sub)
            out = []
            for story in stories:
                brief = build_brief([story], filters=filters, at_local=now, per_source_cap=1)
                if brief.is_empty():
                    continue
                spec = render.story_message(story, tz, digest_formatter=self._digest, t=t)
                out.append(
                    PlannedDelivery(
                        dedupe_key=f"story:{story.id}",
                        kind="story",
                        payload={"batches": [spec.to_dict()], "story_ids": [story.id]},
                        story_from=story.id - 1,
                        story_to=story.id,
                    )
                )
            return out
        brief = build_brief(
            stories, filters=filters_of(sub), at_local=now, per_source_cap=self._cap
        )
        if brief.is_empty():
            if not (self._post_when_empty and scheduled):
                return []  # "nothing new" belongs to the daily slot, not to /brief send
            spec = render.nothing_new(now, tz, t)
            return [
                PlannedDelivery(
                    dedupe_key=f"empty:{local_day(now, tz).isoformat()}",
                    kind="notice",
                    payload={
                        "header": spec.to_dict(),
                        "post_name": addressing.post_name(now, tz, t),
                        "story_ids": [],
                    },
                )
            ]
        header = render.brief_header(brief, tz, t)
        batches = render.story_batches(brief.shown, tz, digest_formatter=self._digest, t=t)
        return [
            PlannedDelivery(
                dedupe_key=f"brief:{sub.watermark}-{upto}",
                kind="brief",
                payload={
                    "header": header.to_dict(),
                    "thread_name": render.thread_name(brief, tz, t),
                    "post_name": addressing.post_name(brief.local_date, tz, t),
                    "batches": [b.to_dict() for b in batches],
                    "story_ids": [s.id for s in brief.shown],
                },
                story_from=sub.watermark,
                story_to=upto,
            )
        ]
