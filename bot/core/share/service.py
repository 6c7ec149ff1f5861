"""Sharing a story into a channel with a comment: the rules, Discord-free.

A share is reserved in the database before its message is posted, and the rules are checked
against the reservation in one transaction: the story must be visible to the server (the
same rule as search and bookmarks), the same story may go into one channel once a day, and a
user may share once per cooldown. The caller posts ``PreparedShare.message`` and then calls
``posted`` (or ``abandon`` when Discord refused it, so the refusal counts for nothing).

The cooldown is read from the stored shares, not kept in memory: gateway processes each own
some guilds, so a user's next share may arrive in another process, and a restart must not
reset it; the check costs one indexed read inside the transaction the share needs anyway.
Only shares that happened (or are being posted) count: a refused one does not.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.briefs.render import DigestFormatter
from bot.core.briefs.render_share import share_message
from bot.core.errors import NotFoundError, UserInputError
from bot.core.i18n import Messages
from bot.core.share.types import AlreadyShared, PreparedShare, ShareCooldown
from bot.storage import shares_repo as repo

MAX_COMMENT_CHARS = 500
DUPLICATE_WINDOW = timedelta(hours=24)
# A reservation never marked posted after this long was lost with its process (a crash
# between reserving and posting); it stops blocking the story in that channel.
PENDING_GRACE = timedelta(minutes=2)
_MAX_ID = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_BLANK_LINES = re.compile(r"\n{3,}")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def clean_comment(text: str) -> str:
    """The comment as posted: line breaks kept (at most one blank line in a row), control
    characters dropped, trimmed. Empty or over ``MAX_COMMENT_CHARS`` is refused: Discord's
    form enforces the length too, but nothing a client sends is trusted."""
    comment = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    comment = _BLANK_LINES.sub("\n\n", comment).strip()
    if not comment:
        raise UserInputError("Write a comment to go with the story.")
    if len(comment) > MAX_COMMENT_CHARS:
        raise UserInputError(
            "A comment can have at most {max} characters; yours has {count:,}. "
            "Shorten it and try again.",
            max=MAX_COMMENT_CHARS,
            count=len(comment),
        )
    return comment


def _no_story(story_id: int) -> NotFoundError:
    # The same sentence as /bookmark add's (one catalog entry).
    return NotFoundError(
        "There is no story {id}; it may have been removed from the archive.", id=story_id
    )


class ShareService:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        cooldown_seconds: float = 30,
        clock: Callable[[], datetime] = _utcnow,
        digest_formatter: DigestFormatter | None = None,
    ) -> None:
        if cooldown_seconds < 0:
            raise ValueError("cooldown_seconds must not be negative")
        self._sessions = sessions
        self._cooldown = timedelta(seconds=cooldown_seconds)
        self._clock = clock
        self._digest = digest_formatter

    async def cooldown_left(self, user_id: int) -> float:
        """Seconds until ``user_id`` may share again (0: now). Asked before a form opens, so
        nobody types a comment only to be told to wait."""
        async with self._sessions() as session:
            last = await repo.last_shared_at(session, user_id, excluding=0)
        return self._left(last, self._clock())

    def _left(self, last: datetime | None, now: datetime) -> float:
        if last is None or not self._cooldown:
            return 0.0
        return max(0.0, (last + self._cooldown - now).total_seconds())

    async def prepare(
        self,
        *,
        user_id: int,
        guild_id: int,
        channel_id: int,
        story_id: int,
        comment: str,
        sharer: str,
        brief_channel_id: int | None = None,
        t: Messages | None = None,
    ) -> PreparedShare:
        """Reserve a share of ``story_id`` by ``user_id`` into ``channel_id`` and render its
        message, dated in the time zone of ``brief_channel_id``'s brief (default: the channel
        itself; a thread passes its parent) or UTC, in the server's language ``t`` (a channel
        post, like a brief; default English). Raises ``UserInputError`` (bad comment),
        ``NotFoundError`` (no such story for this server), ``AlreadyShared`` or
        ``ShareCooldown``; nothing is kept then."""
        text = clean_comment(comment)
        if not 0 < story_id <= _MAX_ID:
            raise _no_story(story_id)
        async with self._sessions() as session:
            story = await repo.story_view(session, story_id, guild_id=guild_id)
            zone_of = brief_channel_id or channel_id
            timezone = await repo.channel_timezone(session, zone_of) or "UTC"
        if story is None:
            raise _no_story(story_id)
        now = self._clock()
        try:
            async with self._sessions() as session, session.begin():
                await repo.lock_sharer(session, user_id, channel_id)
                share_id = await repo.insert_share(
                    session,
                    user_id=user_id,
                    story_id=story_id,
                    guild_id=guild_id,
                    channel_id=channel_id,
                    now=now,
                )
                # Checked after the insert and in its transaction: raising rolls it back.
                recent = await repo.recent_in_channel(
                    session,
                    story_id=story_id,
                    channel_id=channel_id,
                    since=now - DUPLICATE_WINDOW,
                    pending_since=now - PENDING_GRACE,
                    excluding=share_id,
                )
                if recent is not None:
                    raise AlreadyShared(recent)
                left = self._left(
                    await repo.last_shared_at(session, user_id, excluding=share_id), now
                )
                if left > 0:
                    raise ShareCooldown(left)
        except IntegrityError:
            raise _no_story(story_id) from None  # pruned between the read and the insert
        message = share_message(
            story, timezone, sharer=sharer, comment=text, digest_formatter=self._digest, t=t
        )
        return PreparedShare(
            share_id=share_id, story_id=story_id, title=story.title, message=message
        )

    async def posted(self, share_id: int, message_id: int) -> None:
        async with self._sessions() as session, session.begin():
            await repo.set_message(session, share_id, message_id)

    async def abandon(self, share_id: int) -> None:
        """The message was not posted: the share never happened (and does not count)."""
        async with self._sessions() as session, session.begin():
            await repo.delete_share(session, share_id)
