"""The fake's world: guilds, channels, roles, the bot's member, messages and commands.

Everything here is plain data plus the one piece of logic the REST side and the
interaction builders both need: Discord's permission algorithm (base role permissions,
then @everyone, role and member overwrites), so a test can configure "a channel where
the bot cannot send" once and both discord.py's cache and the fake's 403s agree.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import permissions as P

# Discord snowflakes are (ms since 2015 << 22); using the real layout keeps
# discord.py's snowflake_time() and shard routing ((guild_id >> 22) % shards) sensible.
_DISCORD_EPOCH_MS = 1420070400000
_counter = itertools.count(1)


def snowflake() -> int:
    """A fresh, unique, time-ordered snowflake."""
    ms = int(time.time() * 1000) - _DISCORD_EPOCH_MS
    return (ms << 22) | (next(_counter) & 0x3FFFFF)


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


# Channel types used by the fake (Discord's numbering).
GUILD_TEXT = 0
GUILD_CATEGORY = 4
GUILD_NEWS = 5
PUBLIC_THREAD = 11
PRIVATE_THREAD = 12
GUILD_FORUM = 15
THREAD_TYPES = frozenset({10, PUBLIC_THREAD, PRIVATE_THREAD})


@dataclass
class User:
    id: int
    username: str
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.username,
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
            "flags": 0,
        }


@dataclass
class Role:
    id: int
    name: str
    permissions: int
    position: int = 1
    managed: bool = False
    mentionable: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": self.managed,
            "mentionable": self.mentionable,
            "icon": None,
            "unicode_emoji": None,
            "flags": 0,
        }


@dataclass
class Overwrite:
    """A channel permission overwrite; type 0 = role, 1 = member (Discord's numbering)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0

    @classmethod
    def role(cls, role_id: int, *, allow: int = 0, deny: int = 0) -> Overwrite:
        return cls(role_id, 0, allow, deny)

    @classmethod
    def member(cls, user_id: int, *, allow: int = 0, deny: int = 0) -> Overwrite:
        return cls(user_id, 1, allow, deny)

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "allow": str(self.allow),
            "deny": str(self.deny),
        }


@dataclass
class Channel:
    id: int
    guild_id: int
    name: str
    type: int = GUILD_TEXT
    position: int = 0
    parent_id: int | None = None
    overwrites: list[Overwrite] = field(default_factory=list)
    owner_id: int | None = None  # threads only
    topic: str | None = None
    # Forums: their tags ({"id", "name", ...}); forum posts: the tag ids applied to them.
    available_tags: list[dict[str, Any]] = field(default_factory=list)
    applied_tags: list[str] = field(default_factory=list)
    archived: bool = False  # threads only

    @property
    def is_thread(self) -> bool:
        return self.type in THREAD_TYPES

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "name": self.name,
            "type": self.type,
            "position": self.position,
            "parent_id": str(self.parent_id) if self.parent_id else None,
            "flags": 0,
            "nsfw": False,
            "rate_limit_per_user": 0,
            "last_message_id": None,
        }
        if self.is_thread:
            data.update(
                owner_id=str(self.owner_id) if self.owner_id else None,
                member_count=1,
                message_count=0,
                total_message_sent=0,
                thread_metadata={
                    "archived": self.archived,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": iso_now(),
                    "locked": False,
                },
                applied_tags=list(self.applied_tags),
            )
        else:
            data["permission_overwrites"] = [o.payload() for o in self.overwrites]
            data["topic"] = self.topic
        if self.type == GUILD_FORUM:
            data.update(available_tags=self.available_tags, default_forum_layout=0)
        return data


@dataclass
class Member:
    user: User
    role_ids: list[int] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        return {
            "user": self.user.payload(),
            "roles": [str(r) for r in self.role_ids],
            "nick": None,
            "avatar": None,
            "joined_at": iso_now(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
        }


@dataclass
class Guild:
    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)
    preferred_locale: str = "en-US"  # the community's language (GUILD_CREATE, REST)

    @property
    def everyone(self) -> Role:
        # The @everyone role shares the guild's id, as on Discord.
        return self.roles[self.id]

    def add_role(self, name: str, permissions: int, *, position: int | None = None) -> Role:
        role = Role(snowflake(), name, permissions, position or len(self.roles))
        self.roles[role.id] = role
        return role

    def add_channel(
        self,
        name: str,
        *,
        overwrites: list[Overwrite] | None = None,
        type: int = GUILD_TEXT,
        parent_id: int | None = None,
    ) -> Channel:
        channel = Channel(
            snowflake(), self.id, name, type, len(self.channels), parent_id, list(overwrites or [])
        )
        self.channels[channel.id] = channel
        return channel

    def add_member(self, user: User, role_ids: list[int] | None = None) -> Member:
        member = Member(user, list(role_ids or []))
        self.members[user.id] = member
        return member

    def channel_by_name(self, name: str) -> Channel:
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise KeyError(name)

    # -- Discord's permission algorithm ------------------------------------------------
    def base_permissions(self, user_id: int) -> int:
        if user_id == self.owner_id:
            return P.ALL
        member = self.members.get(user_id)
        perms = self.everyone.permissions
        for role_id in member.role_ids if member else []:
            role = self.roles.get(role_id)
            if role:
                perms |= role.permissions
        return P.ALL if perms & P.ADMINISTRATOR else perms

    def permissions_in(self, channel: Channel, user_id: int) -> int:
        """Effective permissions of a member in a channel (threads inherit the parent's)."""
        if channel.is_thread and channel.parent_id in self.channels:
            channel = self.channels[channel.parent_id]
        perms = self.base_permissions(user_id)
        if perms & P.ADMINISTRATOR:
            return P.ALL
        member = self.members.get(user_id)
        role_ids = set(member.role_ids) if member else set()
        by_key = {(o.type, o.id): o for o in channel.overwrites}
        everyone = by_key.get((0, self.id))
        if everyone:
            perms = (perms & ~everyone.deny) | everyone.allow
        allow = deny = 0
        for ow in channel.overwrites:
            if ow.type == 0 and ow.id in role_ids:
                allow |= ow.allow
                deny |= ow.deny
        perms = (perms & ~deny) | allow
        mine = by_key.get((1, user_id))
        if mine:
            perms = (perms & ~mine.deny) | mine.allow
        # Without VIEW_CHANNEL nothing else applies (Discord's rule, and discord.py's).
        return perms if perms & P.VIEW_CHANNEL else 0

    def payload(self, bot_user: User) -> dict[str, Any]:
        """The GUILD_CREATE body (also what GET /guilds/{id} is derived from)."""
        return {
            **self.rest_payload(),
            "unavailable": False,
            "large": False,
            "member_count": len(self.members),
            "joined_at": iso_now(),
            "members": [m.payload() for m in self.members.values()],
            "channels": [c.payload() for c in self.channels.values() if not c.is_thread],
            "threads": [c.payload() for c in self.channels.values() if c.is_thread],
            "presences": [],
            "voice_states": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }

    def rest_payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "banner": None,
            "description": None,
            "owner_id": str(self.owner_id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": self.preferred_locale,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "features": [],
            "roles": [r.payload() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "max_members": 500000,
            "vanity_url_code": None,
            "premium_progress_bar_enabled": False,
        }


@dataclass
class StoredMessage:
    """A message the bot created (channel message, interaction response or followup)."""

    payload: dict[str, Any]
    files: list[Any] = field(default_factory=list)
    deleted: bool = False
    edits: int = 0

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def channel_id(self) -> int:
        return int(self.payload["channel_id"])


@dataclass
class World:
    """All mutable state of one fake Discord."""

    bot: User
    application_id: int
    guilds: dict[int, Guild] = field(default_factory=dict)
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    # (scope, command name) -> command payload; scope is None for global, else guild id.
    commands: dict[int | None, dict[str, dict[str, Any]]] = field(default_factory=dict)
    users: dict[int, User] = field(default_factory=dict)

    def add_guild(
        self,
        name: str = "Test Guild",
        *,
        bot_permissions: int = P.DEFAULT_BOT,
        everyone_permissions: int = P.DEFAULT_EVERYONE,
        channels: tuple[str, ...] = ("general",),
        preferred_locale: str = "en-US",
    ) -> Guild:
        owner = self.add_user("guild-owner")
        gid = snowflake()
        guild = Guild(gid, name, owner.id, preferred_locale=preferred_locale)
        guild.roles[gid] = Role(gid, "@everyone", everyone_permissions, 0)
        bot_role = guild.add_role(self.bot.username, bot_permissions)
        bot_role.managed = True
        guild.add_member(self.bot, [bot_role.id])
        guild.add_member(owner)
        for channel_name in channels:
            guild.add_channel(channel_name)
        self.guilds[gid] = guild
        return guild

    def add_user(self, username: str) -> User:
        user = User(snowflake(), username)
        self.users[user.id] = user
        return user

    def find_channel(self, channel_id: int) -> tuple[Guild, Channel] | None:
        for guild in self.guilds.values():
            channel = guild.channels.get(channel_id)
            if channel is not None:
                return guild, channel
        return None

    def channel_messages(self, channel_id: int) -> list[StoredMessage]:
        return [m for m in self.messages.values() if m.channel_id == channel_id and not m.deleted]
