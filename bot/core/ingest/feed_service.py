"""Feeds a guild follows (`/feed add|remove|rename|list|status`) and OPML import/export.

A feed is one row however many servers follow it (``feed_links``): a URL already tracked,
under any spelling or redirect, is linked rather than added twice, so it is fetched once per
cycle. Removing unlinks this server only.

A custom feed is fetched ONCE, through the SSRF guard (invariant 7), before it is accepted,
so a typo, a private address or an HTML page gets a clear answer at once instead of a feed that
silently fails forever. Its current stories are stored right away as backfill: archived and
searchable, never announced (invariant 3: no backfill flood).

Messages of ``UserInputError`` and ``NotFoundError`` are shown to the person verbatim.
"""

from __future__ import annotations

import builtins
import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from urllib.parse import urlsplit

from bot.core.errors import (
    BackpressureError,
    BlockedAddressError,
    BodyTooLarge,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NotFoundError,
    ParseError,
    TooManyRedirects,
    UserInputError,
)
from bot.core.ingest.fetcher import Fetcher
from bot.core.ingest.opml import Outline, parse_opml, render_opml
from bot.core.ingest.parser import ParseOutcome
from bot.core.ingest.refresher import Parser, success_state, utc_now
from bot.core.ingest.schedule import ScheduleLimits, Uniform
from bot.core.ingest.source_name import KEY_MAX, display_name, source_key
from bot.core.ingest.ssrf import check_url
from bot.core.ingest.types import (
    AddedFeed,
    FeedRow,
    FeedState,
    ImportReport,
    NewFeed,
    RemovedFeed,
    RenamedFeed,
)
from bot.core.ingest.urls import feed_url_spellings
from bot.core.models import FetchResult, ParsedFeed
from bot.core.text import clean_text
from bot.storage.feeds_repo import DuplicateFeedError, FeedsRepository
from bot.storage.stories_repo import StoriesRepository

MAX_URL_CHARS = 2048
MAX_NAME_CHARS = 80  # what a header line and an autocomplete choice can show
_KEY_MAX = KEY_MAX
_SUFFIX_MAX = len("-9999")

FeedStatus = FeedRow  # last_error, error_count, next_check_at, last_success_at, gone, active


def fetch_problem(exc: FetchError) -> UserInputError:
    """A fetch failure as one sentence for the person who typed the URL."""
    if isinstance(exc, BlockedAddressError):
        return UserInputError("That address is not allowed: {reason}.", reason=exc.reason)
    if isinstance(exc, BackpressureError):
        return UserInputError("The site asked us to slow down (HTTP 429/503); try again later.")
    if isinstance(exc, HTTPStatusError):
        return UserInputError("The site answered HTTP {status}; check the URL.", status=exc.status)
    if isinstance(exc, FetchTimeout):
        return UserInputError("The site took too long to answer (timed out).")
    if isinstance(exc, BodyTooLarge):
        return UserInputError("That document is too large to be a feed.")
    if isinstance(exc, TooManyRedirects):
        return UserInputError("That URL redirects too many times.")
    return UserInputError("Could not read that URL: {reason}.", reason=exc.reason)


def validate_feed_url(url: str, *, allow_private_networks: bool) -> str:
    """The stripped URL, or UserInputError (scheme, length, literal private address)."""
    url = url.strip()
    if not url:
        raise UserInputError("Give the feed's URL, e.g. https://example.com/feed.xml")
    if len(url) > MAX_URL_CHARS:
        raise UserInputError("That URL is longer than {max} characters.", max=MAX_URL_CHARS)
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UserInputError("That is not a valid URL.") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise UserInputError("Feed URLs must start with http:// or https://")
    try:
        check_url(url, allow_private_networks=allow_private_networks)
    except BlockedAddressError as exc:
        raise UserInputError("That address is not allowed: {reason}.", reason=exc.reason) from None
    except ValueError:
        raise UserInputError("That is not a valid URL.") from None
    return url


def key_base(title: str | None, url: str) -> str:
    """The key base of a feed titled ``title``: the slug of its display name (else its host)."""
    return source_key(display_name(title, url), url)


class FeedService:
    def __init__(
        self,
        feeds: FeedsRepository,
        stories: StoriesRepository,
        fetcher: Fetcher,
        parser: Parser,
        *,
        clock: Callable[[], datetime] = utc_now,
        limits: ScheduleLimits = ScheduleLimits(),
        rng: Uniform | None = None,
        max_per_guild: int = 50,
    ) -> None:
        self.feeds = feeds
        self.stories = stories
        self.fetcher = fetcher
        self.parser = parser
        self.clock = clock
        self.limits = limits
        self.rng: Uniform = rng or random.Random()
        self.max_per_guild = max_per_guild

    @property
    def _allow_private(self) -> bool:
        return self.fetcher.policy.allow_private_networks

    # -- /feed add ----------------------------------------------------------------------------

    async def add_custom(self, url: str, *, guild_id: int) -> AddedFeed:
        """Follow a feed by URL: a feed already tracked (by another server, OPML or the
        catalog, under any spelling of its URL or the address it redirects to) is linked to
        this server, never fetched twice; a new one is fetched once and its stories archived."""
        url = validate_feed_url(url, allow_private_networks=self._allow_private)
        existing = await self.feeds.by_urls(feed_url_spellings(url))
        if existing is not None:
            await self._not_followed_yet(existing, guild_id)
        await self._check_cap(guild_id)
        if existing is not None and _polled(existing):
            return await self._follow(existing, guild_id)
        now = self.clock()
        known = existing.unusable_key_kinds if existing is not None else frozenset()
        result, outcome = await self._read(url, now, known)
        if existing is None and result.final_url != url:
            existing = await self.feeds.by_urls(feed_url_spellings(result.final_url))
            if existing is not None:
                await self._not_followed_yet(existing, guild_id)
                if _polled(existing):
                    return await self._follow(existing, guild_id)
                if existing.unusable_key_kinds - outcome.unusable_key_kinds:
                    # The feed we bring back lost key kinds earlier: key its stories the same way.
                    outcome = await self._parse(result, now, existing.unusable_key_kinds)
        state = self._state(now, result, outcome)
        if existing is not None:
            # Nobody polls it (removed by everyone, or 410): bring it back with this fetch.
            await self.feeds.reactivate(existing.id, now)
            await self.feeds.record([replace(state, feed_id=existing.id)])
            await self.feeds.link(existing.id, guild_id, now)
            row = existing
        else:
            try:
                row = await self._insert(url, guild_id, now, outcome, state)
            except DuplicateFeedError as exc:  # another server added it a moment ago
                if exc.existing is None:
                    raise UserInputError(
                        "Could not store that feed right now; try again."
                    ) from None
                await self._not_followed_yet(exc.existing, guild_id)
                return await self._follow(exc.existing, guild_id)
        # Backfill: what the feed already had is archived and searchable, never announced.
        # Only for a feed nobody polled: stories of a polled feed are the poller's to store
        # (as backfill here they would never be announced to its other followers).
        stored = await self.stories.store(
            row.id, outcome.stories, now, search=outcome.search, backfill=True
        )
        latest = max(outcome.stories, key=lambda s: s.published_at, default=None)
        return AddedFeed(
            key=row.key,
            title=row.title,
            url=row.url,
            stories=stored.new,
            latest_title=latest.title if latest else None,
            latest_url=latest.url if latest else None,
        )

    async def _check_cap(self, guild_id: int) -> None:
        if await self.feeds.count_for_guild(guild_id) >= self.max_per_guild:
            raise UserInputError(
                "This server already follows {max} feeds; remove one with /feed remove first.",
                max=self.max_per_guild,
            )

    async def _not_followed_yet(self, existing: FeedRow, guild_id: int) -> None:
        if await self.feeds.follows(existing.id, guild_id):
            raise UserInputError(
                "This server already follows that feed as `{key}`.", key=existing.key
            )

    async def _follow(self, feed: FeedRow, guild_id: int) -> AddedFeed:
        """Link a feed that is already polled: the answer tells what its archive holds."""
        await self.feeds.link(feed.id, guild_id, self.clock())
        archive = await self.feeds.archive(feed.id)
        return AddedFeed(
            key=feed.key,
            title=feed.title,
            url=feed.url,
            stories=archive.stories,
            latest_title=archive.latest_title,
            latest_url=archive.latest_url,
            already_tracked=True,
        )

    async def _read(
        self, url: str, now: datetime, unusable: frozenset[str]
    ) -> tuple[FetchResult, ParseOutcome]:
        await self.fetcher.start()
        try:
            result = await self.fetcher.fetch(url, guarded=True)
        except FetchError as exc:
            raise fetch_problem(exc) from None
        return result, await self._parse(result, now, unusable)

    async def _parse(
        self, result: FetchResult, now: datetime, unusable: frozenset[str]
    ) -> ParseOutcome:
        """Parse with the key kinds the feed already lost (``FeedRow.unusable_key_kinds``)."""
        if result.body is None:  # no validators were sent, so this is a confused server
            raise UserInputError("The site answered without a document; check the URL.")
        try:
            return await self.parser.parse(
                result.body,
                result.headers,
                result.final_url,
                now,
                with_search=True,
                unusable=unusable,
            )
        except ParseError as exc:
            raise UserInputError("That URL is not a feed: {reason}", reason=str(exc)) from None

    def _state(self, now: datetime, result: FetchResult, outcome: ParseOutcome) -> FeedState:
        return success_state(0, now, result, outcome, limits=self.limits, rng=self.rng)

    async def _insert(
        self,
        url: str,
        guild_id: int | None,
        now: datetime,
        outcome: ParseOutcome,
        state: FeedState | None,
        *,
        origin: str = "custom",
        title: str | None = None,
        site_url: str | None = None,
    ) -> FeedRow:
        # Named (and keyed) from its title now, once: the key never changes afterwards.
        name = display_name(title or outcome.feed.title, url)
        base = source_key(name, url)
        for attempt in range(3):
            key = await self._free_key(base)
            try:
                return await self.feeds.add(
                    NewFeed(
                        key=key,
                        url=url,
                        title=name,
                        origin=origin,
                        site_url=site_url or outcome.feed.link,
                        language=outcome.feed.language,
                        added_by_guild_id=guild_id,
                    ),
                    now,
                    state=state,
                )
            except DuplicateFeedError as exc:
                if exc.existing is not None and exc.existing.url == url:
                    raise
                if attempt == 2:
                    raise UserInputError(
                        "Could not store that feed right now; try again."
                    ) from None
        raise AssertionError("unreachable")

    async def _free_key(self, base: str) -> str:
        # Suffixed keys may cut the base short: look up everything they could collide with.
        taken = await self.feeds.keys_like(base[: _KEY_MAX - _SUFFIX_MAX])
        if base not in taken:
            return base
        for n in range(2, 10_000):
            suffix = f"-{n}"
            key = base[: _KEY_MAX - len(suffix)].rstrip("-") + suffix
            if key not in taken:
                return key
        raise UserInputError("Could not find a free key for that feed.")

    # -- /feed remove, list, status -----------------------------------------------------------

    async def rename(self, key: str, guild_id: int, name: str) -> RenamedFeed:
        """Show one of this server's feeds by another name (its key stays, filters keep working).

        The name belongs to the feed, which other servers may follow too: only a custom feed
        this server alone follows can be renamed."""
        feed = await self._own(key, guild_id)
        if feed.origin != "custom":
            raise UserInputError(
                "`{key}` is a shared feed of the bot's operator; it keeps its name.", key=feed.key
            )
        if await self.feeds.followers(feed.id) > 1:
            raise UserInputError(
                "Other servers follow `{key}` too, so its name is shared; it stays as is.",
                key=feed.key,
            )
        clean = clean_text(name, single_line=True)
        if not clean:
            raise UserInputError("Give the feed a name: some text, not only spaces or markup.")
        if len(clean) > MAX_NAME_CHARS:
            raise UserInputError(
                "That name is {count} characters long; keep it to {max}.",
                count=len(clean),
                max=MAX_NAME_CHARS,
            )
        await self.feeds.rename(feed.id, clean)
        return RenamedFeed(key=feed.key, old_name=feed.title, new_name=clean)

    async def _own(self, key: str, guild_id: int) -> FeedRow:
        feed = await self.feeds.by_key(key.strip().lower())
        if feed is None or not await self.feeds.follows(feed.id, guild_id):
            raise NotFoundError("This server follows no feed `{key}` (see /feed list).", key=key)
        return feed

    async def remove(self, key: str, guild_id: int) -> RemovedFeed:
        """This server stops following the feed; the feed itself, its stories and keys stay
        (polling stops once no server follows a custom feed)."""
        feed = await self._own(key, guild_id)
        await self.feeds.unlink(feed.id, guild_id)
        return RemovedFeed(key=feed.key, title=feed.title)

    async def list(self, guild_id: int) -> builtins.list[FeedRow]:
        """The feeds this guild follows (active ones), by key."""
        return await self.feeds.list_feeds(guild_id=guild_id)

    async def status(
        self, guild_id: int | None, *, include_catalog: bool = False
    ) -> builtins.list[FeedStatus]:
        """Fetch health of this guild's feeds (and the catalog's when asked), failing first."""
        rows = await self.feeds.list_feeds(guild_id=guild_id) if guild_id is not None else []
        if include_catalog:
            # Shared feeds: the catalog and operator imports (OPML without a server).
            shared = await self.feeds.list_feeds(origins=("catalog", "opml"))
            mine = {f.id for f in rows}
            rows += [
                f
                for f in shared
                if f.id not in mine and (f.origin == "catalog" or f.added_by_guild_id is None)
            ]
        return sorted(rows, key=lambda f: (f.last_error is None and not f.gone, f.key))

    # -- OPML ---------------------------------------------------------------------------------

    async def import_opml(self, data: bytes, *, guild_id: int | None = None) -> ImportReport:
        """Add every feed of an OPML file (origin "opml"), polled on the next cycle.

        Each URL is validated (scheme, length, literal private address) but not fetched here:
        a 500-feed OPML would otherwise take minutes. The refresher fetches them through the
        SSRF guard like any user-supplied feed, and their errors show in /feed status.
        """
        report = ImportReport()
        now = self.clock()
        for outline in parse_opml(data):
            try:
                url = validate_feed_url(outline.xml_url, allow_private_networks=self._allow_private)
            except UserInputError as exc:
                report.refused.append((outline.xml_url, str(exc)))
                continue
            existing = await self.feeds.by_urls(feed_url_spellings(url))
            if existing is not None:
                if guild_id is not None and await self.feeds.link(existing.id, guild_id, now):
                    report.added.append(existing.key)
                else:
                    report.duplicates.append(url)
                continue
            empty = ParseOutcome(feed=_EMPTY_FEED, stories=())
            try:
                row = await self._insert(
                    url,
                    guild_id,
                    now,
                    empty,
                    None,
                    origin="opml",
                    title=outline.title or None,
                    site_url=outline.html_url,
                )
            except (DuplicateFeedError, UserInputError):
                report.duplicates.append(url)
                continue
            report.added.append(row.key)
        return report

    async def export_opml(self, *, guild_id: int | None = None) -> str:
        """All active feeds (or one guild's own) as OPML 2.0."""
        if guild_id is None:
            rows = await self.feeds.list_feeds()
        else:
            rows = await self.feeds.list_feeds(guild_id=guild_id)
        outlines = [Outline(title=f.title, xml_url=f.url, html_url=f.site_url) for f in rows]
        return render_opml(outlines, title="techbrief feeds", created=self.clock())


def _polled(feed: FeedRow) -> bool:
    """Whether the poller fetches the feed: then a new follower needs no fetch of its own."""
    return feed.active and not feed.gone


_EMPTY_FEED = ParsedFeed(title=None, link=None, language=None, entries=())
