"""Every channel message techbrief posts, rendered as Discord API JSON within Discord's limits.

Pure and Discord-free on purpose: the outbox stores these payloads, so a resend after a crash
posts exactly what was planned, and tests can check limits without a client. Feed text is
hostile: it only ever enters through `safetext` (escaped, mentions defused, cut to size).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

from bot.core.briefs import safetext as st
from bot.core.briefs.builder import Brief, StoryView
from bot.core.briefs.media_line import kind_mark, media_line
from bot.core.i18n import N_, Messages
from bot.core.ingest.types import AddedFeed, FeedRow, RemovedFeed, RenamedFeed

BRAND = 0x5865F2
BOOKMARK_PREFIX = "tb:bm:"
BUTTON_SECONDARY = 2
THREAD_NAME = 100

BOOKMARK_LABEL = N_("Bookmark")
TAKEAWAY_LABEL = N_("Takeaway")


class DigestFormatter(Protocol):
    """A stored summary as description text (bot.core.summarize.digest_formatter)."""

    def __call__(
        self, data: dict[str, Any], limit: int, *, takeaway_label: str = ...
    ) -> str | None: ...


def _en(t: Messages | None) -> Messages:
    return t if t is not None else Messages.english()


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


def channel_mention(channel_id: int) -> str:
    return f"<#{channel_id}>"


def bookmark_custom_id(story_id: int) -> str:
    return f"{BOOKMARK_PREFIX}{story_id}"


def parse_bookmark_custom_id(custom_id: str) -> int | None:
    if not custom_id.startswith(BOOKMARK_PREFIX):
        return None
    rest = custom_id[len(BOOKMARK_PREFIX) :]
    return int(rest) if rest.isdigit() else None


def bookmark_button(story_id: int, label: str = BOOKMARK_LABEL) -> dict[str, Any]:
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


def local_date_text(moment: datetime, timezone: str, t: Messages | None = None) -> str:
    """The local date in the channel's language, through Babel (CLDR)."""
    return _en(t).date(moment, timezone)


def story_embed(
    story: StoryView,
    timezone: str,
    *,
    digest_formatter: DigestFormatter | None = None,
    description_limit: int = 1500,
    t: Messages | None = None,
) -> dict[str, Any]:
    t = _en(t)
    # A podcast or video says so under its summary, with its length and play link.
    media = media_line(story.kind, story.duration_s, safe_url(story.media_url), t)
    limit = description_limit - (len(media) + 2 if media else 0)
    description = None
    if story.digest and digest_formatter is not None:
        description = digest_formatter(
            story.digest, limit, takeaway_label=t.gettext(TAKEAWAY_LABEL)
        )
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
    footer = local_date_text(story.published_at, timezone, t)
    if story.author:
        footer = f"{plain(story.author)} · {footer}"
    embed["footer"] = {"text": st.truncate(footer, st.FOOTER)}
    image = safe_url(story.image_url)
    if image:
        embed["thumbnail"] = {"url": image}
    return embed


def story_message(story: StoryView, timezone: str, **kw: Any) -> MessageSpec:
    """Realtime mode: one story, one message, one Bookmark button."""
    label = _en(kw.get("t")).gettext(BOOKMARK_LABEL)
    return MessageSpec(
        embeds=(story_embed(story, timezone, **kw),),
        components=action_rows([bookmark_button(story.id, label)]),
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


def brief_title(brief: Brief, timezone: str, t: Messages | None = None) -> str:
    t = _en(t)
    return t.gettext(
        "Tech Brief · {date} · {stories} from {sources}",
        date=local_date_text(brief.local_date, timezone, t),
        stories=t.ngettext("{n} new story", "{n} new stories", brief.total),
        sources=t.ngettext("{n} source", "{n} sources", brief.source_count),
    )


def brief_header(brief: Brief, timezone: str, t: Messages | None = None) -> MessageSpec:
    """The header: one line per story, grouped by source, each title linked."""
    t = _en(t)
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
            more = t.gettext(
                "…and {count} more: `/search query:source:{key}`",
                count=group.more,
                key=group.key,
            )
            lines.append(f"**{label}** · {more}")
    description = fit_lines(lines, st.EMBED_DESCRIPTION, t)
    embed = {
        "type": "rich",
        "title": st.truncate(brief_title(brief, timezone, t), st.EMBED_TITLE),
        "description": description,
        "color": BRAND,
        "footer": {"text": t.gettext("Bookmark any story with its button · /search the archive")},
    }
    return MessageSpec(embeds=(embed,), story_ids=tuple(s.id for s in brief.shown))


def fit_lines(lines: Sequence[str], limit: int, t: Messages | None = None) -> str:
    """Whole lines only; when they do not fit, say how many were left out."""
    out: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        remaining = len(lines) - index
        tail = "\n" + _en(t).gettext("…and {count} more", count=remaining)
        if used + len(line) + 1 + len(tail) > limit:
            out.append(tail.strip())
            break
        out.append(line)
        used += len(line) + 1
    return "\n".join(out)


def thread_name(brief: Brief, timezone: str, t: Messages | None = None) -> str:
    date = local_date_text(brief.local_date, timezone, t)
    return st.truncate(_en(t).gettext("Tech Brief {date}", date=date), THREAD_NAME)


def nothing_new(at: datetime, timezone: str, t: Messages | None = None) -> MessageSpec:
    date = local_date_text(at, timezone, t)
    return MessageSpec(
        content=_en(t).gettext("Tech Brief · {date} · nothing new today.", date=date)
    )


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


def feed_added_text(
    added: AddedFeed, *, channel_id: int | None = None, t: Messages | None = None
) -> str:
    """`/feed add`: what was added, its latest story (linked) and where it will be posted."""
    t = _en(t)
    title = st.safe_line(added.title, 200) or "(untitled)"
    n = added.stories
    archived = (
        t.ngettext(
            "The bot already tracks it: its {n} story are searchable here now",
            "The bot already tracks it: its {n} stories are searchable here now",
            n,
        )
        if added.already_tracked
        else t.ngettext(
            "{n} existing story archived and searchable",
            "{n} existing stories archived and searchable",
            n,
        )
    )
    lines = [
        t.gettext("Added **{title}** as `{key}`.", title=title, key=added.key),
        t.gettext("{archived}; they are not announced, only new posts are.", archived=archived),
    ]
    latest = len(lines)
    has_latest = bool(added.latest_title or added.latest_url)
    latest_label = t.gettext("Latest:") + " "
    if has_latest:
        lines.append(latest_label + _story_link(added.latest_title, added.latest_url, 200))
    if channel_id is not None:
        lines.append(
            t.gettext(
                "{channel} gets its new stories from now on.", channel=channel_mention(channel_id)
            )
        )
    else:
        lines.append(
            t.gettext(
                "Add it to a brief with `/subscribe source:{key} channel:…`; "
                "`/feed status` shows if it stops working.",
                key=added.key,
            )
        )
    text = "\n".join(lines)
    # Only the link can be long (URLs up to 2,000 characters): drop it before cutting text.
    if len(text) > st.CONTENT and has_latest:
        lines[latest] = latest_label + _story_link(added.latest_title, None, 200)
        text = "\n".join(lines)
    return st.truncate(text, st.CONTENT)


def feed_renamed_text(renamed: RenamedFeed, t: Messages | None = None) -> str:
    old = st.safe_line(renamed.old_name, 100) or "(untitled)"
    new = st.safe_line(renamed.new_name, 100)
    return _en(t).gettext(
        "Renamed **{old}** to **{new}**. Briefs, search and bookmarks show the new name; "
        "its key stays `{key}`, so `source:{key}` filters keep working.",
        old=old,
        new=new,
        key=renamed.key,
    )


def feed_removed_text(removed: RemovedFeed, t: Messages | None = None) -> str:
    title = st.safe_line(removed.title, 200) or "(untitled)"
    return _en(t).gettext(
        "Removed **{title}** (`{key}`): this server no longer follows it, so no more "
        "of its stories reach your briefs. Bookmarks of its stories stay.",
        title=title,
        key=removed.key,
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


def _health_mark(feed: FeedRow, now: datetime | None, t: Messages) -> str:
    problem = feed_problem(feed, now) if now is not None else None
    if problem == _GONE:
        return " · ⛔ " + t.gettext("gone (HTTP 410)")
    if problem == _FAILING:
        return " · ⚠️ " + t.gettext("failing ({count}×)", count=feed.error_count)
    if problem == _SLOWED:
        return " · 🐢 " + t.gettext("slowed down by the site")
    if problem == _OVERDUE:
        return " · 🐢 " + t.gettext("check overdue")
    return ""


def feeds_page(
    feeds: Sequence[FeedRow],
    *,
    page: int,
    per_page: int = FEEDS_PER_PAGE,
    now: datetime | None = None,
    t: Messages | None = None,
) -> dict[str, Any]:
    """One page of `/feed list`: key, title, feed link and health of each of the server's feeds."""
    t = _en(t)
    chunk = feeds[page * per_page : (page + 1) * per_page]
    lines = []
    feed_word = t.gettext("feed")
    for feed in chunk:
        url = safe_url(feed.url)
        link = f" · [{feed_word}](<{url}>)" if url and len(url) <= FEED_LINK_MAX else ""
        lines.append(
            f"`{feed.key}` · {st.safe_line(feed.title, 80) or '(untitled)'}{link}"
            f"{_health_mark(feed, now, t)}"
        )
    pages = max(1, -(-len(feeds) // per_page))
    empty = t.gettext("This server has not added any feeds yet: `/feed add url:` adds one.")
    return {
        "type": "rich",
        "title": t.gettext("This server's feeds ({count})", count=len(feeds)),
        "color": BRAND,
        "description": fit_lines(lines, st.EMBED_DESCRIPTION, t) or empty,
        "footer": {
            "text": t.gettext(
                "Page {page}/{pages} · /feed status shows errors · /feed remove stops one",
                page=page + 1,
                pages=pages,
            )
        },
    }


def _feed_status_field(feed: FeedRow, problem: str, t: Messages) -> dict[str, Any]:
    whose = t.gettext("catalog") if feed.origin == "catalog" else t.gettext("this server's feed")
    name = f"{'⛔' if problem == _GONE else '⚠️' if problem == _FAILING else '🐢'} {feed.key}"
    lines = [f"{st.safe_line(feed.title, 120) or '(untitled)'} · {whose}"]
    if feed.last_error:
        error = st.truncate(st.inert(feed.last_error), 300)
        lines.append(t.gettext("**Last error:** {error}", error=error))
    if problem == _OVERDUE:
        lines.append(t.gettext("**Slow:** its check is overdue; polling is behind."))
    lines.append(t.gettext("**Errors in a row:** {count}", count=feed.error_count))
    success = feed.last_success_at
    when = _discord_time(success) if success else t.gettext("never")
    lines.append(t.gettext("**Last success:** {when}", when=when))
    if problem == _GONE:
        lines.append(t.gettext("**Next check:** none, the site says the feed is gone (HTTP 410)"))
    elif problem == _OVERDUE:
        due = _discord_time(feed.next_check_at)
        lines.append(t.gettext("**Next check:** was due {when}", when=due))
    else:
        lines.append(t.gettext("**Next check:** {when}", when=_discord_time(feed.next_check_at)))
    return {
        "name": st.truncate(name, st.FIELD_NAME),
        "value": st.truncate("\n".join(lines), st.FIELD_VALUE),
        "inline": False,
    }


def feed_status_embed(
    feeds: Sequence[FeedRow], now: datetime, t: Messages | None = None
) -> dict[str, Any]:
    """`/feed status`: a one-line summary, then one field per failing or slow feed."""
    t = _en(t)
    problems = [(f, p) for f in feeds if (p := feed_problem(f, now)) is not None]
    ok = len(feeds) - len(problems)
    failing = sum(1 for _, p in problems if p in (_GONE, _FAILING))
    slow = len(problems) - failing
    summary = "**" + t.ngettext("{n} feed OK", "{n} feeds OK", ok) + "**"
    if problems:
        summary += " · " + t.gettext("{failing} failing · {slow} slow", failing=failing, slow=slow)
    fields: list[dict[str, Any]] = []
    budget = st.EMBED_TOTAL - 500  # title, summary and the "more" field
    for feed, problem in problems[: st.FIELDS - 1]:
        field_ = _feed_status_field(feed, problem, t)
        budget -= len(field_["name"]) + len(field_["value"])
        if budget < 0:
            break  # the embed's 6,000 characters are spent; the rest is counted below
        fields.append(field_)
    if len(fields) < len(problems):
        fields.append(
            {
                "name": t.gettext("More"),
                "value": t.gettext(
                    "…and {count} more failing or slow feeds.", count=len(problems) - len(fields)
                ),
                "inline": False,
            }
        )
    if not feeds:
        summary = t.gettext(
            "No feeds yet: `/feed add url:` adds one, `/sources` lists the catalog."
        )
    return {
        "type": "rich",
        "title": t.gettext("Feed status"),
        "color": BRAND,
        "description": summary,
        "fields": fields,
        "footer": {
            "text": t.gettext("Failing feeds are retried with growing pauses, at least once a day.")
        },
        "timestamp": now.isoformat(),
    }
