"""A shared story as a channel message, and the answers its sharer gets (pure, Discord-free).

The card is the brief's own (``render.story_message``: same embed, same Bookmark button); the
sharer's name and comment above it are user input, so they go through ``safetext`` like feed
text: control characters dropped, markdown escaped, mentions defused. The message is sent
with no mention allowed as well; the escaping keeps ``**x**`` and ``[x](url)`` literal.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.briefs import safetext as st
from bot.core.briefs.builder import StoryView
from bot.core.briefs.render import DigestFormatter, MessageSpec, plain, story_message

NAME_CHARS = 80  # Discord display names are at most 32; nicknames of old accounts, 80.
NO_STORY = "This message holds no story to share: use it on a brief's or a story's message."
PICK_PROMPT = "Which story do you want to share?"


def shared_line(sharer: str, comment: str) -> str:
    """``Shared by <name>: <comment>``, both escaped; the comment keeps its line breaks."""
    name = st.safe_line(sharer, NAME_CHARS) or "someone"
    return st.truncate(f"Shared by {name}: {st.inert(comment.strip())}", st.CONTENT)


def share_message(
    story: StoryView,
    timezone: str,
    *,
    sharer: str,
    comment: str,
    digest_formatter: DigestFormatter | None = None,
) -> MessageSpec:
    """The story card exactly as a brief posts it, with the sharer's line as content."""
    card = story_message(story, timezone, digest_formatter=digest_formatter)
    return MessageSpec(
        content=shared_line(sharer, comment),
        embeds=card.embeds,
        components=card.components,
        story_ids=card.story_ids,
    )


def shared_text(title: str, channel_id: int, url: str) -> str:
    """The sharer's (ephemeral) confirmation, with a link to the posted message."""
    return f"Shared **{st.safe_line(title, 120)}** in <#{channel_id}>: {url}"


def missing_text(channel_id: int, *, yours: Sequence[str], mine: Sequence[str]) -> str | None:
    """Why a share into the channel cannot happen, naming each missing permission; None
    when nothing is missing."""
    parts = []
    if yours:
        parts.append(
            f"You cannot share in <#{channel_id}>: you need the **{', '.join(yours)}** "
            f"permission{'s' if len(yours) > 1 else ''} there."
        )
    if mine:
        parts.append(
            f"I cannot post in <#{channel_id}>: I need the **{', '.join(mine)}** "
            f"permission{'s' if len(mine) > 1 else ''} there. Ask an admin to grant "
            f"{'them' if len(mine) > 1 else 'it'}."
        )
    return " ".join(parts) or None


def not_posted_text(channel_id: int, reason: str) -> str:
    return f"I could not post in <#{channel_id}> ({plain(reason)[:200]}); nothing was shared."
