"""Forum channels: posts (a thread plus its first message, in one request) and the guild's
active threads, as Discord serves them.

``POST /channels/{forum}/threads`` with ``message`` starts a post: name 1-100 characters,
``applied_tags`` at most 5 and each one of the forum's ``available_tags``, the message
checked like any other (limits, allowed_mentions); the post's thread and its first message
share one id. A forum takes no plain messages (``POST /channels/{forum}/messages`` is 400).
``GET /guilds/{guild}/threads/active`` lists the threads that are not archived,
``GET /channels/{forum}/threads/archived/public`` a forum's archived posts, newest first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

from . import limits
from . import permissions as P
from .mentions import allowed_mentions_problems, apply_mentions
from .state import GUILD_FORUM, PUBLIC_THREAD, Channel, Guild, iso_now, snowflake

if TYPE_CHECKING:
    from .rest import Ctx, RestApi

WRONG_CHANNEL_TYPE = (50024, "Cannot execute action on this channel type")


def add_forum(guild: Guild, name: str, tags: tuple[str, ...] = ()) -> Channel:
    """A forum channel with these tag names (before the bot connects, or announce it)."""
    forum = guild.add_channel(name, type=GUILD_FORUM)
    forum.available_tags = [
        {"id": str(snowflake()), "name": t, "moderated": False}
        | {"emoji_id": None, "emoji_name": None}
        for t in tags
    ]
    return forum


def tag_names(forum: Channel, post: Channel) -> list[str]:
    by_id = {t["id"]: t["name"] for t in forum.available_tags}
    return [by_id[t] for t in post.applied_tags]


def register(api: RestApi) -> None:
    async def create_post(ctx: Ctx) -> web.Response:
        return await _create_post(api, ctx)

    async def active_threads(ctx: Ctx) -> web.Response:
        return await _active_threads(api, ctx)

    api._add("POST", "/channels/{channel_id}/threads", create_post)

    async def archived_threads(ctx: Ctx) -> web.Response:
        return await _archived_threads(api, ctx)

    api._add("GET", "/guilds/{guild_id}/threads/active", active_threads)
    api._add("GET", "/channels/{channel_id}/threads/archived/public", archived_threads)


def refuse_forum_message(channel: Channel) -> None:
    """Discord: messages go into a forum's posts, never into the forum itself."""
    from .rest import DiscordError

    if channel.type == GUILD_FORUM:
        raise DiscordError(400, *WRONG_CHANNEL_TYPE)


def _invalid(field: str, message: str) -> Exception:
    from .rest import DiscordError

    errors = {field: {"_errors": [{"code": "BASE_TYPE_BAD_LENGTH", "message": message}]}}
    return DiscordError(400, 50035, "Invalid Form Body", errors)


async def _create_post(api: RestApi, ctx: Ctx) -> web.Response:
    from .rest import DiscordError, json_response

    guild, forum = api._channel(ctx.int_param("channel_id"))
    if forum.type != GUILD_FORUM:
        # Threads without a message in text channels are not modelled: the bot never asks.
        raise DiscordError(400, *WRONG_CHANNEL_TYPE)
    api._require(guild, forum, P.SEND_MESSAGES)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    name = str(body.get("name") or "")
    if not 1 <= len(name) <= 100:
        raise _invalid("name", "Must be between 1 and 100 in length.")
    message = body.get("message")
    if not isinstance(message, dict) or not (message.get("content") or message.get("embeds")):
        raise _invalid("message", "A forum post needs a first message with content or embeds.")
    where = f"POST /channels/{forum.id}/threads"
    problems = limits.check_message(message) + allowed_mentions_problems(
        message.get("allowed_mentions")
    )
    tags = [str(t) for t in body.get("applied_tags") or []]
    known = {t["id"] for t in forum.available_tags}
    if len(tags) > 5:
        problems.append(f"applied_tags has {len(tags)} tags (max 5)")
    problems += [f"applied_tags: {t} is not a tag of this forum" for t in tags if t not in known]
    if problems:
        for problem in problems:
            api.recorder.violation(where, problem)
        raise _invalid("message", "; ".join(problems))
    post = Channel(
        snowflake(), guild.id, name, PUBLIC_THREAD, 0, forum.id, owner_id=api.world.bot.id
    )
    post.applied_tags = tags
    guild.channels[post.id] = post
    first = api._build_message(post.id, guild.id, message, [])
    first["id"] = str(post.id)  # a post and its first message share the id, as on Discord
    apply_mentions(api.world, guild, post, message, first)
    api._store(first, [])
    api._announce(guild, "THREAD_CREATE", post.payload() | {"newly_created": True})
    member = {"member": {"roles": [], "joined_at": iso_now()}}
    api._announce(guild, "MESSAGE_CREATE", first | member)
    return json_response(post.payload() | {"message": first}, 201)


async def _active_threads(api: RestApi, ctx: Ctx) -> web.Response:
    from .rest import DiscordError, json_response

    guild = api.world.guilds.get(int(ctx.params["guild_id"]))
    if guild is None:
        raise DiscordError(404, 10004, "Unknown Guild")
    threads = [c.payload() for c in guild.channels.values() if c.is_thread and not c.archived]
    return json_response({"threads": threads, "members": []})


async def _archived_threads(api: RestApi, ctx: Ctx) -> web.Response:
    from .rest import json_response

    guild, channel = api._channel(ctx.int_param("channel_id"))
    api._require(guild, channel, P.VIEW_CHANNEL | P.READ_MESSAGE_HISTORY)
    limit = int(ctx.query.get("limit", 50))
    threads = [
        c
        for c in guild.channels.values()
        if c.is_thread and c.archived and c.parent_id == channel.id
    ]
    threads.sort(key=lambda c: -c.id)  # newest first, as Discord orders by archive time
    body = {
        "threads": [c.payload() for c in threads[:limit]],
        "members": [],
        "has_more": len(threads) > limit,
    }
    return json_response(body)
