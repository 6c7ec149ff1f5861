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
from bot.core.briefs.render import (
    DigestFormatter,
    MessageSpec,
    channel_mention,
    plain,
    story_message,
)
from bot.core.i18n import N_, Messages

NAME_CHARS = 80  # Discord display names are at most 32; nicknames of old accounts, 80.
NO_STORY = N_("This message holds no story to share: use it on a brief's or a story's message.")
PICK_PROMPT = N_("Which story do you want to share?")
# The form the menu opens and the picker before it (the reader's language).
FORM_TITLE = N_("Share story")
FORM_LABEL = N_("Your comment")
FORM_PLACEHOLDER = N_("Why is it worth reading?")
PICK_PLACEHOLDER = N_("Choose the story to share")
# Discord's names for the permissions a share needs (as its clients show them).
VIEW_CHANNEL = N_("View Channel")
SEND_MESSAGES = N_("Send Messages")
SEND_IN_THREADS = N_("Send Messages in Threads")
EMBED_LINKS = N_("Embed Links")


def _en(t: Messages | None) -> Messages:
    return t if t is not None else Messages.english()


def shared_line(sharer: str, comment: str, t: Messages | None = None) -> str:
    """``Shared by <name>: <comment>`` in the server's language, both escaped; the comment
    keeps its line breaks."""
    t = _en(t)
    name = st.safe_line(sharer, NAME_CHARS) or t.gettext("someone")
    line = t.gettext("Shared by {name}: {comment}", name=name, comment=st.inert(comment.strip()))
    return st.truncate(line, st.CONTENT)


def share_message(
    story: StoryView,
    timezone: str,
    *,
    sharer: str,
    comment: str,
    digest_formatter: DigestFormatter | None = None,
    t: Messages | None = None,
) -> MessageSpec:
    """The story card exactly as a brief posts it (in the server's language, like the
    brief), with the sharer's line as content."""
    card = story_message(story, timezone, digest_formatter=digest_formatter, t=t)
    return MessageSpec(
        content=shared_line(sharer, comment, t),
        embeds=card.embeds,
        components=card.components,
        story_ids=card.story_ids,
    )


def shared_text(title: str, channel_id: int, url: str, t: Messages | None = None) -> str:
    """The sharer's (ephemeral) confirmation, with a link to the posted message."""
    return _en(t).gettext(
        "Shared **{title}** in {channel}: {url}",
        title=st.safe_line(title, 120),
        channel=channel_mention(channel_id),
        url=url,
    )


def missing_text(
    channel_id: int, *, yours: Sequence[str], mine: Sequence[str], t: Messages | None = None
) -> str | None:
    """Why a share into the channel cannot happen, naming each missing permission (names
    already in the reader's language); None when nothing is missing."""
    t = _en(t)
    channel = channel_mention(channel_id)
    parts = []
    if yours:
        parts.append(
            t.ngettext(
                "You cannot share in {channel}: you need the **{perms}** permission there.",
                "You cannot share in {channel}: you need the **{perms}** permissions there.",
                len(yours),
                channel=channel,
                perms=", ".join(yours),
            )
        )
    if mine:
        parts.append(
            t.ngettext(
                "I cannot post in {channel}: I need the **{perms}** permission there. "
                "Ask an admin to grant it.",
                "I cannot post in {channel}: I need the **{perms}** permissions there. "
                "Ask an admin to grant them.",
                len(mine),
                channel=channel,
                perms=", ".join(mine),
            )
        )
    return " ".join(parts) or None


def not_posted_text(channel_id: int, reason: str, t: Messages | None = None) -> str:
    return _en(t).gettext(
        "I could not post in {channel} ({reason}); nothing was shared.",
        channel=channel_mention(channel_id),
        reason=plain(reason)[:200],
    )
