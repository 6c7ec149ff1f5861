"""Who a channel's brief addresses and where it goes: the role ping and forum posts.

Rendering is shared by every channel that gets the same stories (planning renders once per
shape); what differs per channel is applied here, on a copy, after rendering: the header of
a channel with a ping role gets one mention line and `allowed_mentions` allowing exactly that
role, and a forum channel's delivery is marked to go out as a new post. Feed text never gets
a mention through: only the line built here is allowed to ping, and only the one role.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.core.briefs import safetext as st
from bot.core.briefs.render import THREAD_NAME, local_date_text
from bot.core.i18n import Messages

KINDS = ("text", "forum")
# Forum tags applied to a brief's post when the forum has one with this name (any case,
# spaces, hyphens and underscores ignored: "Tech Brief", "tech-brief", "TECHBRIEF").
TAG_NAME = "techbrief"


def ping_line(role_id: int) -> str:
    """The line that pings the role (a separate line, so the header text can change freely)."""
    return f"<@&{int(role_id)}>"


def only_role(role_id: int) -> dict[str, Any]:
    """Discord's allowed_mentions that let exactly this role be pinged, nothing else."""
    return {"parse": [], "roles": [str(int(role_id))]}


def post_name(at: datetime, timezone: str, t: Messages | None = None) -> str:
    """The title of a brief's forum post, in the channel's language."""
    date = local_date_text(at, timezone, t)
    text = t.gettext("Tech Brief · {date}", date=date) if t else f"Tech Brief · {date}"
    return st.truncate(text, THREAD_NAME)


def is_brief_tag(name: str) -> bool:
    return "".join(ch for ch in name.casefold() if ch not in " -_") == TAG_NAME


def with_ping(message: dict[str, Any], role_id: int) -> dict[str, Any]:
    """A copy of a header message that pings the role, and only it."""
    text = message.get("content")
    content = ping_line(role_id) + (f"\n{text}" if text else "")
    return {**message, "content": content, "allowed_mentions": only_role(role_id)}


def addressed(payload: dict[str, Any], *, ping_role_id: int | None, forum: bool) -> dict[str, Any]:
    """A channel's own copy of a rendered delivery payload (the shared one is left alone)."""
    header = payload.get("header")
    if not header or (ping_role_id is None and not forum):
        return payload
    out = dict(payload)
    if ping_role_id is not None:
        out["header"] = with_ping(header, ping_role_id)
    if forum:
        out["forum"] = True
    return out


def status_line(
    ping_role_id: int | None, channel_kind: str, t: Messages | None = None
) -> str | None:
    """/brief status: how the channel's briefs reach people, when that is not the default."""
    t = t or Messages.english()
    parts = []
    if ping_role_id is not None:
        parts.append(t.gettext("**Pings:** {role}", role=ping_line(ping_role_id)))
    if channel_kind == "forum":
        parts.append(t.gettext("**Posts:** a new forum post per brief"))
    return " · ".join(parts) or None
