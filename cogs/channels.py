"""The channel option of commands that name where briefs go: text, announcement or forum.

discord.py's ForumChannel option also offers media channels (type 16), whose posts need an
attachment a brief does not have; this option lists exactly the kinds a brief can go to.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

import discord
from discord import app_commands
from discord.app_commands.transformers import UnionChannelTransformer

BRIEF_CHANNEL_TYPES = [
    discord.ChannelType.text,
    discord.ChannelType.news,
    discord.ChannelType.forum,
]


class _BriefChannelOption(UnionChannelTransformer[Any]):
    def __init__(self) -> None:
        super().__init__(discord.TextChannel, discord.ForumChannel)

    @property
    def channel_types(self) -> list[discord.ChannelType]:
        return list(BRIEF_CHANNEL_TYPES)


if TYPE_CHECKING:
    BriefChannel: TypeAlias = discord.TextChannel | discord.ForumChannel
else:
    BriefChannel = app_commands.Transform[
        discord.TextChannel | discord.ForumChannel, _BriefChannelOption
    ]
