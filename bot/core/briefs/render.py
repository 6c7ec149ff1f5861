"""Every channel message techbrief posts, rendered as Discord API JSON within Discord's limits.

Pure and Discord-free on purpose: the outbox stores these payloads, so a resend after a crash
posts exactly what was planned, and tests can check limits without a client. Feed text is
hostile: it only ever enters through `safetext` (escaped, mentions defused, cut to size).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from bot.core.briefs import safetext as st
from bot.core.briefs.builder import Brief, StoryView
from bot.core.briefs.media_line import kind_mark, media_line
from bot.core.ingest.types import AddedFeed, FeedRow, RemovedFeed, RenamedFeed

BRAND = 0x5865F2
BOOKMARK_PREFIX = "tb:bm:"
BUTTON_SECONDARY = 2
THREAD_NAME = 100

DigestFormatter = Callable[[dict[str, Any], int], str | None]


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """One message as Discord JSON (content, embeds, components); round-trips through JSON."""

    content: str | None = None
    embeds: tuple[dict[str, Any], ...] = ()
    components: tuple[dict[str, Any], ...] = ()
    story_ids: tuple[int, ...] = field(default=())
    # None: nobody (the publisher's default); set only by briefs.addressing for a role ping.
    allowed_mentions: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "content": self.content,
            "embeds": list(self.embeds),
            "components": list(self.components),
            "story_ids": list(self.story_ids),
        }
        if self.allowed_mentions is not None:
            data["allowed_mentions"] = self.allowed_mentions
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MessageSpec:
        return cls(
            content=data.get("content"),
            embeds=tuple(data.get("embeds", ())),
            components=tuple(data.get("components", ())),
            story_ids=tuple(data.get("story_ids", ())),
            allowed_mentions=data.get("allowed_mentions"),
        )


def plain(text: str) -> str:
    """Feed text for places Discord shows literally (button labels, thread names)."""
    return " ".join(st.clean_control(text).split()) or "(untitled)"


def safe_url(url: str | None) -> str | None:
    """An http(s) URL Discord will accept as a link, or None (javascript:, data:, junk)."""
    if not url:
        return None
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname or len(url) > 2000:
        return None
    # Characters that would end a markdown link early or break Discord's URL parsing.
    return quote(url, safe=":/?#[]@!$&'*+,;=%~-._")


def bookmark_custom_id(story_id: int) -> str:
    return f"{BOOKMARK_PREFIX}{story_id}"


def parse_bookmark_custom_id(custom_id: str) -> int | None:
    if not custom_id.startswith(BOOKMARK_PREFIX):
        return None
    rest = custom_id[len(BOOKMARK_PREFIX) :]
    return int(rest) if rest.isdigit() else None


def bookmark_button(story_id: int, label: str = "Bookmark") -> dict[str, Any]:
    return {
        "type": 2,
        "style": BUTTON_SECONDARY,
        "label": st.truncate(label, st.BUTTON_LABEL),
        "custom_id": bookmark_custom_id(story_id),
        "emoji": {"name": "🔖"},
    }


def action_rows(buttons: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """Discord allows 5 buttons per row and 5 rows per message."""
    rows = [buttons[i : i + 5] for i in range(0, min(len(buttons), 25), 5)]
    return tuple({"type": 1, "components": list(row)} for row in rows)


def embed_length(embed: dict[str, Any]) -> int:
    """Characters that count toward Discord's 6,000 per-message embed total."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    total += len(embed.get("author", {}).get("name", ""))
    for f in embed.get("fields", []):
        total += len(f.get("name", "")) + len(f.get("value", ""))
    return total


def local_date_text(moment: datetime, timezone: str) -> str:
    return moment.astimezone(ZoneInfo(timezone)).strftime("%a %d %b %Y")


def story_embed(
    story: StoryView,
    timezone: str,
    *,
    digest_formatter: DigestFormatter | None = None,
    description_limit: int = 1500,
) -> dict[str, Any]:
    # A podcast or video says so under its summary, with its length and play link.
    media = media_line(story.kind, story.duration_s, safe_url(story.media_url))
    limit = description_limit - (len(media) + 2 if media else 0)
    description = None
    if story.digest and digest_formatter is not None:
        description = digest_formatter(story.digest, limit)
    if not description:
        description = st.truncate(st.inert(story.summary), limit)
    if media:
        description = f"{description}\n\n{media}" if description else media
    embed: dict[str, Any] = {
        "type": "rich",
        "title": st.safe_line(story.title, st.EMBED_TITLE) or "(untitled)",
        "description": description,
        "color": story.source_color if story.source_color is not None else BRAND,
        "author": {"name": st.truncate(plain(story.source_name), st.AUTHOR_NAME)},
        "timestamp": story.published_at.isoformat(),
    }
    url = safe_url(story.url)
    if url:
        embed["url"] = url
    footer = local_date_text(story.published_at, timezone)
    if story.author:
        footer = f"{plain(story.author)} · {footer}"
    embed["footer"] = {"text": st.truncate(footer, st.FOOTER)}
    image = safe_url(story.image_url)
    if image:
        embed["thumbnail"] = {"url": image}
    return embed


def story_message(story: StoryView, timezone: str, **kw: Any) -> MessageSpec:
    """Realtime mode: one story, one message, one Bookmark button."""
    return MessageSpec(
        embeds=(story_embed(story, timezone, **kw),),
        components=action_rows([bookmark_button(story.id)]),
        story_ids=(story.id,),
    )


def story_batches(stories: Sequence[StoryView], timezone: str, **kw: Any) -> list[MessageSpec]:
    """Stories in messages of at most 10 embeds and 6,000 embed characters, each with buttons."""
    batches: list[MessageSpec] = []
    embeds: list[dict[str, Any]] = []
    ids: list[int] = []
    titles: list[str] = []
    size = 0

    def flush() -> None:
        nonlocal embeds, ids, titles, size
        if embeds:
            buttons = [
                bookmark_button(sid, f"{n}. " + st.truncate(plain(title), 60))
                for n, (sid, title) in enumerate(zip(ids, titles, strict=True), start=1)
            ]
            batches.append(
                MessageSpec(
                    embeds=tuple(embeds), components=action_rows(buttons), story_ids=tuple(ids)
                )
            )
        embeds, ids, titles, size = [], [], [], 0

    for story in stories:
        embed = story_embed(story, timezone, **kw)
        length = embed_length(embed)
        if len(embeds) == st.EMBEDS_PER_MESSAGE or size + length > st.EMBED_TOTAL:
            flush()
        embeds.append(embed)
        ids.append(story.id)
        titles.append(story.title)
        size += length
    flush()
    return batches


def brief_title(brief: Brief, timezone: str) -> str:
    n = brief.total
    sources = brief.source_count
    return (
        f"Tech Brief · {local_date_text(brief.local_date, timezone)} · "
        f"{n} new {'story' if n == 1 else 'stories'} from {sources} "
        f"{'source' if sources == 1 else 'sources'}"
    )


def brief_header(brief: Brief, timezone: str) -> MessageSpec:
    """The header: one line per story, grouped by source, each title linked."""
    lines: list[str] = []
    for group in brief.groups:
        label = st.safe_line(group.name or group.key, 48)
        for story in group.stories:
            title = st.safe_line(story.title, 150) or "(untitled)"
            url = safe_url(story.url)
            mark = kind_mark(story.kind)
            lines.append(
                f"**{label}** · {mark + ' ' if mark else ''}"
                + (f"[{title}]({url})" if url else title)
            )
        if group.more:
            lines.append(
                f"**{label}** · …and {group.more} more: `/search query:source:{group.key}`"
            )
    description = _fit_lines(lines, st.EMBED_DESCRIPTION)
    embed = {
        "type": "rich",
        "title": st.truncate(brief_title(brief, timezone), st.EMBED_TITLE),
        "description": description,
        "color": BRAND,
        "footer": {"text": "Bookmark any story with its button · /search the archive"},
    }
    return MessageSpec(embeds=(embed,), story_ids=tuple(s.id for s in brief.shown))


def _fit_lines(lines: Sequence[str], limit: int) -> str:
    """Whole lines only; when they do not fit, say how many were left out."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        remaining = len(lines) - index
        tail = f"\n…and {remaining} more"
        if used + len(line) + 1 + len(tail) > limit:
            out.append(tail.strip())
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def thread_name(brief: Brief, timezone: str) -> str:
    return st.truncate(f"Tech Brief {local_date_text(brief.local_date, timezone)}", THREAD_NAME)


def nothing_new(at: datetime, timezone: str) -> MessageSpec:
    return MessageSpec(content=f"Tech Brief · {local_date_text(at, timezone)} · nothing new today.")


def help_embed(commands: Sequence[tuple[str, str]]) -> dict[str, Any]:
    intro = (
        "techbrief reads engineering blogs (Netflix, Google, Meta, AWS, Discord, LINE, Toss, "
        "Kakao, Naver, Woowahan and any feed you add) and posts a **daily tech brief** of new "
        "stories in the channels an admin sets up. Everyone can **search** the archive and keep "
        "**private bookmarks**.\n\n"
    )
    lines = [f"`{name}` — {st.truncate(desc, 100)}" for name, desc in commands]
    return {
        "type": "rich",
        "title": "techbrief help",
        "color": BRAND,
        "description": intro + _fit_lines(lines, st.EMBED_DESCRIPTION - len(intro)),
        "footer": {"text": "Admin commands need the Manage Server permission."},
    }


def _mode_text(status: Any) -> str:
    if status.mode != "brief":
        return "realtime"
    cadence = getattr(status, "cadence", "daily")
    return "daily brief" if cadence == "daily" else f"brief {cadence}"


def status_embed(statuses: Sequence[Any], failing: Sequence[Any], now: datetime) -> dict[str, Any]:
    """`/brief status`: one field per configured channel, then the feeds that are failing."""
    fields: list[dict[str, Any]] = []
    budget = st.EMBED_TOTAL - 1200  # title, the failing-feeds field and the "more" line
    shown = 0
    for s in statuses[: st.FIELDS - 2]:
        when = "—"
        if s.mode == "realtime":
            when = "as stories arrive"
        elif s.next_brief_at is not None:
            local = s.next_brief_at.astimezone(ZoneInfo(s.timezone))
            when = f"{local:%a %d %b %H:%M} {s.timezone} (<t:{int(s.next_brief_at.timestamp())}:R>)"
        lines = [
            f"**Mode:** {_mode_text(s)} · **Next:** {when}",
            f"**Sources:** {st.truncate(', '.join(s.sources) or 'none', 300)}",
            f"**Stories waiting:** {s.waiting}",
        ]
        if getattr(s, "reach", None):
            lines.append(s.reach)
        if s.include or s.exclude:
            inc = ", ".join(s.include) or "—"
            exc = ", ".join(s.exclude) or "—"
            lines.append(st.truncate(f"**Filters:** include {inc}; exclude {exc}", 300))
        if s.paused_reason:
            lines.append(f"⏸️ **Paused:** {st.truncate(st.inert(s.paused_reason), 300)}")
        value = st.truncate(f"<#{s.channel_id}>\n" + "\n".join(lines), st.FIELD_VALUE)
        budget -= len("Channel") + len(value)
        if budget < 0:
            break  # the embed's 6,000 characters are spent; the rest is counted below
        fields.append({"name": "Channel", "value": value, "inline": False})
        shown += 1
    if shown < len(statuses):
        fields.append(
            {
                "name": "More channels",
                "value": f"…and {len(statuses) - shown} more configured channels.",
                "inline": False,
            }
        )
    if failing:
        rows = [
            f"`{f.key}` · {st.truncate(st.inert(f.last_error or 'error'), 120)} · "
            f"retry <t:{int(f.next_check_at.timestamp())}:R>"
            for f in failing
        ]
        fields.append(
            {"name": "Feeds failing", "value": _fit_lines(rows, st.FIELD_VALUE), "inline": False}
        )
    description = None if statuses else "No channel is set up yet: run `/brief setup`."
    embed: dict[str, Any] = {
        "type": "rich",
        "title": "techbrief status",
        "color": BRAND,
        "fields": fields,
        "timestamp": now.isoformat(),
    }
    if description:
        embed["description"] = description
    return embed


def sources_page(
    rows: Sequence[Any], *, page: int, per_page: int, subscribed: set[int] | None = None
) -> dict[str, Any]:
    """One page of `/sources`: key, name and status of each source."""
    chunk = rows[page * per_page : (page + 1) * per_page]
    lines = []
    for row in chunk:
        mark = ""
        if subscribed is not None:
            mark = "✅ " if row.id in subscribed else "▫️ "
        origin = "" if row.origin == "catalog" else " · *your feed*"
        failing = " · ⚠️ failing" if row.error_count else ""
        lines.append(f"{mark}`{row.key}` · {st.safe_line(row.title, 80)}{origin}{failing}")
    pages = max(1, -(-len(rows) // per_page))
    return {
        "type": "rich",
        "title": f"Sources ({len(rows)})",
        "color": BRAND,
        "description": _fit_lines(lines, st.EMBED_DESCRIPTION) or "No sources yet.",
        "footer": {
            "text": f"Page {page + 1}/{pages} · /subscribe source:KEY adds one to a channel"
        },
    }


# -- /feed: a server's own feeds (add, remove, list, status) ------------------------------------
FEEDS_PER_PAGE = 10
# A feed whose next check is this far in the past is "slow": the poller is behind on it.
FEED_OVERDUE_SECONDS = 3600
# Longer links only cost characters in a list; the key and title identify the feed anyway.
FEED_LINK_MAX = 300
_GONE, _FAILING, _SLOWED, _OVERDUE = "gone", "failing", "slowed", "overdue"


def _discord_time(moment: datetime, style: str = "R") -> str:
    """A Discord timestamp (`<t:…:R>` shows "in 2 hours" in each reader's own locale)."""
    return f"<t:{int(moment.timestamp())}:{style}>"


def feed_problem(feed: FeedRow, now: datetime) -> str | None:
    """Why a feed needs an admin's eye (gone, failing, slowed, overdue), or None when healthy.

    "slowed": the last poll hit backpressure (429/503, Retry-After): it leaves `last_error` set
    without counting an error. "overdue": it should have been checked long ago.
    """
    if feed.gone:
        return _GONE
    if feed.error_count > 0:
        return _FAILING
    if feed.last_error:
        return _SLOWED
    if (now - feed.next_check_at).total_seconds() > FEED_OVERDUE_SECONDS:
        return _OVERDUE
    return None


def _story_link(title: str | None, url: str | None, limit: int) -> str:
    text = st.safe_line(title or "", limit) or "(untitled)"
    link = safe_url(url)
    # <…> around the URL: the link works but Discord does not unfurl a preview of it.
    return f"[{text}](<{link}>)" if link else text


def feed_added_text(added: AddedFeed, *, channel_id: int | None = None) -> str:
    """`/feed add`: what was added, its latest story (linked) and where it will be posted."""
    title = st.safe_line(added.title, 200) or "(untitled)"
    n = added.stories
    stories = f"{n} {'story' if n == 1 else 'stories'}"
    archived = (
        f"The bot already tracks it: its {stories} are searchable here now"
        if added.already_tracked
        else f"{n} existing {'story' if n == 1 else 'stories'} archived and searchable"
    )
    lines = [
        f"Added **{title}** as `{added.key}`.",
        f"{archived}; they are not announced, only new posts are.",
    ]
    latest = len(lines)
    has_latest = bool(added.latest_title or added.latest_url)
    if has_latest:
        lines.append("Latest: " + _story_link(added.latest_title, added.latest_url, 200))
    if channel_id is not None:
        lines.append(f"<#{channel_id}> gets its new stories from now on.")
    else:
        lines.append(
            f"Add it to a brief with `/subscribe source:{added.key} channel:…`; "
            "`/feed status` shows if it stops working."
        )
    text = "\n".join(lines)
    # Only the link can be long (URLs up to 2,000 characters): drop it before cutting text.
    if len(text) > st.CONTENT and has_latest:
        lines[latest] = "Latest: " + _story_link(added.latest_title, None, 200)
        text = "\n".join(lines)
    return st.truncate(text, st.CONTENT)


def feed_renamed_text(renamed: RenamedFeed) -> str:
    old = st.safe_line(renamed.old_name, 100) or "(untitled)"
    new = st.safe_line(renamed.new_name, 100)
    return (
        f"Renamed **{old}** to **{new}**. Briefs, search and bookmarks show the new name; "
        f"its key stays `{renamed.key}`, so `source:{renamed.key}` filters keep working."
    )


def feed_removed_text(removed: RemovedFeed) -> str:
    title = st.safe_line(removed.title, 200) or "(untitled)"
    return (
        f"Removed **{title}** (`{removed.key}`): this server no longer follows it, so no more "
        "of its stories reach your briefs. Bookmarks of its stories stay."
    )


def feed_choices(feeds: Sequence[FeedRow], current: str) -> list[tuple[str, str]]:
    """Autocomplete for `/feed remove`: (name shown, key) pairs matching what was typed."""
    needle = current.strip().lower()
    hits = [f for f in feeds if needle in f.key or needle in f.title.lower()]
    # The key typed in full first, then keys starting with it, then title matches.
    hits.sort(key=lambda f: (f.key != needle, not f.key.startswith(needle), f.key))
    return [
        (st.truncate(plain(f"{f.key} · {f.title}"), st.CHOICE_NAME), f.key)
        for f in hits[: st.CHOICES]
        if len(f.key) <= st.CHOICE_VALUE
    ]


def _health_mark(feed: FeedRow, now: datetime | None) -> str:
    problem = feed_problem(feed, now) if now is not None else None
    return {
        _GONE: " · ⛔ gone (HTTP 410)",
        _FAILING: f" · ⚠️ failing ({feed.error_count}×)",
        _SLOWED: " · 🐢 slowed down by the site",
        _OVERDUE: " · 🐢 check overdue",
    }.get(problem or "", "")


def feeds_page(
    feeds: Sequence[FeedRow],
    *,
    page: int,
    per_page: int = FEEDS_PER_PAGE,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One page of `/feed list`: key, title, feed link and health of each of the server's feeds."""
    chunk = feeds[page * per_page : (page + 1) * per_page]
    lines = []
    for feed in chunk:
        url = safe_url(feed.url)
        link = f" · [feed](<{url}>)" if url and len(url) <= FEED_LINK_MAX else ""
        lines.append(
            f"`{feed.key}` · {st.safe_line(feed.title, 80) or '(untitled)'}{link}"
            f"{_health_mark(feed, now)}"
        )
    pages = max(1, -(-len(feeds) // per_page))
    empty = "This server has not added any feeds yet: `/feed add url:` adds one."
    return {
        "type": "rich",
        "title": f"This server's feeds ({len(feeds)})",
        "color": BRAND,
        "description": _fit_lines(lines, st.EMBED_DESCRIPTION) or empty,
        "footer": {
            "text": f"Page {page + 1}/{pages} · /feed status shows errors · /feed remove stops one"
        },
    }


def _feed_status_field(feed: FeedRow, problem: str) -> dict[str, Any]:
    whose = "catalog" if feed.origin == "catalog" else "this server's feed"
    name = f"{'⛔' if problem == _GONE else '⚠️' if problem == _FAILING else '🐢'} {feed.key}"
    lines = [f"{st.safe_line(feed.title, 120) or '(untitled)'} · {whose}"]
    if feed.last_error:
        lines.append(f"**Last error:** {st.truncate(st.inert(feed.last_error), 300)}")
    if problem == _OVERDUE:
        lines.append("**Slow:** its check is overdue; polling is behind.")
    lines.append(f"**Errors in a row:** {feed.error_count}")
    success = feed.last_success_at
    lines.append(f"**Last success:** {_discord_time(success) if success else 'never'}")
    if problem == _GONE:
        lines.append("**Next check:** none, the site says the feed is gone (HTTP 410)")
    elif problem == _OVERDUE:
        lines.append(f"**Next check:** was due {_discord_time(feed.next_check_at)}")
    else:
        lines.append(f"**Next check:** {_discord_time(feed.next_check_at)}")
    return {
        "name": st.truncate(name, st.FIELD_NAME),
        "value": st.truncate("\n".join(lines), st.FIELD_VALUE),
        "inline": False,
    }


def feed_status_embed(feeds: Sequence[FeedRow], now: datetime) -> dict[str, Any]:
    """`/feed status`: a one-line summary, then one field per failing or slow feed."""
    problems = [(f, p) for f in feeds if (p := feed_problem(f, now)) is not None]
    ok = len(feeds) - len(problems)
    failing = sum(1 for _, p in problems if p in (_GONE, _FAILING))
    slow = len(problems) - failing
    summary = f"**{ok} {'feed' if ok == 1 else 'feeds'} OK**"
    if problems:
        summary += f" · {failing} failing · {slow} slow"
    fields: list[dict[str, Any]] = []
    budget = st.EMBED_TOTAL - 500  # title, summary and the "more" field
    for feed, problem in problems[: st.FIELDS - 1]:
        field_ = _feed_status_field(feed, problem)
        budget -= len(field_["name"]) + len(field_["value"])
        if budget < 0:
            break  # the embed's 6,000 characters are spent; the rest is counted below
        fields.append(field_)
    if len(fields) < len(problems):
        fields.append(
            {
                "name": "More",
                "value": f"…and {len(problems) - len(fields)} more failing or slow feeds.",
                "inline": False,
            }
        )
    if not feeds:
        summary = "No feeds yet: `/feed add url:` adds one, `/sources` lists the catalog."
    return {
        "type": "rich",
        "title": "Feed status",
        "color": BRAND,
        "description": summary,
        "fields": fields,
        "footer": {"text": "Failing feeds are retried with growing pauses, at least once a day."},
        "timestamp": now.isoformat(),
    }
