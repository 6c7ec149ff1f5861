"""A brief as a forum post: the post (its first message is the header), its tag, and finding
it again after a crash.

Discord takes no nonce on the message that starts a forum post, so exactly-once rests on
the outbox instead: the delivery records that a post was asked for before the request goes
out (``post_requested_at``) and the post's id right after. A retry that finds the request
recorded but no id looks among the guild's active threads for the post that request made:
in this forum, started by the bot, with this name, and not recorded by any other delivery of
the channel. Only when there is none is a post created.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

from discord.http import Route

from bot.core.briefs.addressing import is_brief_tag

log = logging.getLogger(__name__)

Request = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Forum:
    id: int
    guild_id: int
    tag_ids: tuple[str, ...]  # the "tech brief" tag, when the forum has one


class ForumPosts:
    def __init__(self, request: Request) -> None:
        self._request = request
        self._me: int | None = None

    async def forum(self, forum_id: int) -> Forum:
        data = await self._request(Route("GET", "/channels/{channel_id}", channel_id=forum_id))
        tags = tuple(
            str(t["id"])
            for t in data.get("available_tags") or []
            if is_brief_tag(str(t.get("name", "")))
        )[:1]
        return Forum(forum_id, int(data["guild_id"]), tags)

    async def create(self, forum: Forum, name: str, message: dict[str, Any]) -> int:
        """Start the post; its id is the thread's (and its first message's)."""
        body: dict[str, Any] = {"name": name, "message": message}
        if forum.tag_ids:
            body["applied_tags"] = list(forum.tag_ids)
        route = Route("POST", "/channels/{channel_id}/threads", channel_id=forum.id)
        data = await self._request(route, json=body)
        return int(data["id"])

    async def find(self, forum: Forum, name: str, taken: Collection[int]) -> int | None:
        """The post an earlier, unrecorded request made, if Discord has it.

        Active threads first; a retry a day later (the bot was down) finds the post archived,
        so the forum's newest archived posts are looked at too.
        """
        me = await self._my_id()
        active = Route("GET", "/guilds/{guild_id}/threads/active", guild_id=forum.guild_id)
        archived = Route(
            "GET", "/channels/{channel_id}/threads/archived/public", channel_id=forum.id
        )
        for route, params in ((active, None), (archived, {"limit": 100})):
            data = await self._request(route, params=params)
            found = [
                int(t["id"])
                for t in data.get("threads") or []
                if str(t.get("parent_id")) == str(forum.id)
                and str(t.get("owner_id")) == str(me)
                and t.get("name") == name
                and int(t["id"]) not in taken
            ]
            if len(found) > 1:
                log.warning("several unrecorded forum posts match", extra={"channel_id": forum.id})
            if found:
                return min(found)
        return None

    async def _my_id(self) -> int:
        if self._me is None:
            data = await self._request(Route("GET", "/users/@me"))
            self._me = int(data["id"])
        return self._me
