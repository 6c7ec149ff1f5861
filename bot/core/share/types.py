"""What sharing a story hands out and refuses with (pure data; storage imports these)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from bot.core.briefs.render import MessageSpec
from bot.core.errors import UserInputError
from bot.core.i18n import N_


@dataclass(frozen=True, slots=True)
class ShareLink:
    """Where a shared story was posted."""

    guild_id: int
    channel_id: int
    message_id: int

    @property
    def url(self) -> str:
        return f"https://discord.com/channels/{self.guild_id}/{self.channel_id}/{self.message_id}"


@dataclass(frozen=True, slots=True)
class RecentShare:
    """A share of the same story into the same channel inside the duplicate window;
    ``message_id`` is None while that share is still being posted."""

    share_id: int
    guild_id: int
    channel_id: int
    message_id: int | None
    shared_at: datetime


@dataclass(frozen=True, slots=True)
class PreparedShare:
    """A reserved share: the message to post (with the nonce that makes a resend harmless)
    and the title to confirm with."""

    share_id: int
    story_id: int
    title: str
    message: MessageSpec

    @property
    def nonce(self) -> str:
        return f"tbs{self.share_id}"[:25]


class AlreadyShared(UserInputError):
    """The story was shared into that channel within the window (or is being right now)."""

    def __init__(self, recent: RecentShare) -> None:
        self.recent = recent
        channel = f"<#{recent.channel_id}>"
        if recent.message_id is None:
            super().__init__(
                N_("Someone is sharing this story in {channel} right now."), channel=channel
            )
            return
        link = ShareLink(recent.guild_id, recent.channel_id, recent.message_id)
        super().__init__(
            N_("This story was already shared in {channel} today: {url}"),
            channel=channel,
            url=link.url,
        )


class ShareCooldown(UserInputError):
    """The user shared a moment ago; ``retry_after`` seconds until the next share."""

    def __init__(self, retry_after: float) -> None:
        self.retry_after = retry_after
        wait = max(1, math.ceil(retry_after))
        # Error templates have no plural form: one template per English form (ko and ja
        # translate both alike).
        template = (
            N_("You shared a story a moment ago. Try again in {n} second.")
            if wait == 1
            else N_("You shared a story a moment ago. Try again in {n} seconds.")
        )
        super().__init__(template, n=wait)
