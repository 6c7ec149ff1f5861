"""What admins and readers are told about the bot itself: /help, /brief status, /sources.

Same rules as :mod:`bot.core.briefs.render` (pure, Discord API JSON, hostile text through
safetext), in the reader's language (``t``; English when none is given).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot.core.briefs import safetext as st
from bot.core.briefs.addressing import status_line
from bot.core.briefs.render import BRAND, channel_mention, fit_lines
from bot.core.briefs.render import _discord_time as discord_time
from bot.core.briefs.schedule import WEEKDAYS
from bot.core.i18n import N_, Messages


def _en(t: Messages | None) -> Messages:
    return t if t is not None else Messages.english()


def help_embed(commands: Sequence[tuple[str, str]], t: Messages | None = None) -> dict[str, Any]:
    t = _en(t)
    intro = (
        t.gettext(
            "techbrief reads engineering blogs (Netflix, Google, Meta, AWS, Discord, LINE, Toss, "
            "Kakao, Naver, Woowahan and any feed you add) and posts a **daily tech brief** of "
            "new stories in the channels an admin sets up. Everyone can **search** the archive "
            "and keep **private bookmarks**."
        )
        + "\n\n"
    )
    lines = [f"`{name}` — {st.truncate(desc, 100)}" for name, desc in commands]
    return {
        "type": "rich",
        "title": t.gettext("techbrief help"),
        "color": BRAND,
        "description": intro + fit_lines(lines, st.EMBED_DESCRIPTION - len(intro), t),
        "footer": {"text": t.gettext("Admin commands need the Manage Server permission.")},
    }


def _mode_text(status: Any, t: Messages) -> str:
    if status.mode != "brief":
        return t.gettext("realtime")
    every = getattr(status, "every", "daily")
    if every == "weekdays":
        return t.gettext("brief on weekdays")
    if every == "weekly":
        day = WEEKDAYS[getattr(status, "weekday", None) or 0].capitalize()
        return t.gettext("brief every {day}", day=t.gettext(day))
    return t.gettext("daily brief")


def status_embed(
    statuses: Sequence[Any], failing: Sequence[Any], now: datetime, t: Messages | None = None
) -> dict[str, Any]:
    """`/brief status`: one field per configured channel, then the feeds that are failing."""
    t = _en(t)
    fields: list[dict[str, Any]] = []
    budget = st.EMBED_TOTAL - 1200  # title, the failing-feeds field and the "more" line
    shown = 0
    channel = t.gettext("Channel")
    for s in statuses[: st.FIELDS - 2]:
        when = "—"
        if s.mode == "realtime":
            when = t.gettext("as stories arrive")
        elif s.next_brief_at is not None:
            local = t.datetime_text(s.next_brief_at, s.timezone)
            when = f"{local} {s.timezone} (<t:{int(s.next_brief_at.timestamp())}:R>)"
        # Feed keys stay as they are; the "all catalog sources" placeholder is translated.
        sources = ", ".join(t.gettext(key) for key in s.sources) or t.gettext("none")
        lines = [
            t.gettext("**Mode:** {mode} · **Next:** {when}", mode=_mode_text(s, t), when=when),
            t.gettext("**Sources:** {sources}", sources=st.truncate(sources, 300)),
            t.gettext("**Stories waiting:** {count}", count=s.waiting),
        ]
        reach = status_line(getattr(s, "ping_role_id", None), getattr(s, "channel_kind", "text"), t)
        if reach:
            lines.append(reach)
        if s.include or s.exclude:
            inc = ", ".join(s.include) or "—"
            exc = ", ".join(s.exclude) or "—"
            lines.append(
                st.truncate(
                    t.gettext("**Filters:** include {inc}; exclude {exc}", inc=inc, exc=exc), 300
                )
            )
        if s.paused_reason:
            reason = st.truncate(st.inert(s.paused_reason), 300)
            lines.append("⏸️ " + t.gettext("**Paused:** {reason}", reason=reason))
        value = st.truncate(f"<#{s.channel_id}>\n" + "\n".join(lines), st.FIELD_VALUE)
        budget -= len(channel) + len(value)
        if budget < 0:
            break  # the embed's 6,000 characters are spent; the rest is counted below
        fields.append({"name": channel, "value": value, "inline": False})
        shown += 1
    if shown < len(statuses):
        fields.append(
            {
                "name": t.gettext("More channels"),
                "value": t.gettext(
                    "…and {count} more configured channels.", count=len(statuses) - shown
                ),
                "inline": False,
            }
        )
    if failing:
        rows = [
            f"`{f.key}` · {st.truncate(st.inert(f.last_error or 'error'), 120)} · "
            + t.gettext("retry {when}", when=discord_time(f.next_check_at))
            for f in failing
        ]
        fields.append(
            {
                "name": t.gettext("Feeds failing"),
                "value": fit_lines(rows, st.FIELD_VALUE, t),
                "inline": False,
            }
        )
    embed: dict[str, Any] = {
        "type": "rich",
        "title": t.gettext("techbrief status"),
        "color": BRAND,
        "fields": fields,
        "timestamp": now.isoformat(),
    }
    if not statuses:
        embed["description"] = t.gettext("No channel is set up yet: run `/brief setup`.")
    return embed


def sources_page(
    rows: Sequence[Any],
    *,
    page: int,
    per_page: int,
    subscribed: set[int] | None = None,
    t: Messages | None = None,
) -> dict[str, Any]:
    """One page of `/sources`: key, name and status of each source."""
    t = _en(t)
    chunk = rows[page * per_page : (page + 1) * per_page]
    lines = []
    for row in chunk:
        mark = ""
        if subscribed is not None:
            mark = "✅ " if row.id in subscribed else "▫️ "
        origin = "" if row.origin == "catalog" else " · *" + t.gettext("your feed") + "*"
        failing = " · ⚠️ " + t.gettext("failing") if row.error_count else ""
        lines.append(f"{mark}`{row.key}` · {st.safe_line(row.title, 80)}{origin}{failing}")
    pages = max(1, -(-len(rows) // per_page))
    return {
        "type": "rich",
        "title": t.gettext("Sources ({count})", count=len(rows)),
        "color": BRAND,
        "description": fit_lines(lines, st.EMBED_DESCRIPTION, t) or t.gettext("No sources yet."),
        "footer": {
            "text": t.gettext(
                "Page {page}/{pages} · /subscribe source:KEY adds one to a channel",
                page=page + 1,
                pages=pages,
            )
        },
    }


# /subscribe's and /unsubscribe's answers, by what BriefService.subscribe/unsubscribe did.
SOURCE_ANSWERS = {
    "already": N_("{channel} already gets **{title}**."),
    "added": N_("{channel} now gets **{title}**."),
    "absent": N_("{channel} does not get **{title}**."),
    "removed": N_("{channel} no longer gets **{title}**."),
}


def source_answer(outcome: str, channel_id: int, title: str, t: Messages | None = None) -> str:
    """ "<#c> now gets **Title**." and its siblings, in the reader's language."""
    channel, title = channel_mention(channel_id), st.safe_line(title, 100)
    return (t or Messages.english()).gettext(SOURCE_ANSWERS[outcome], channel=channel, title=title)
