"""`techbrief preview` and `techbrief brief send`: the brief without the gateway."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from bot.commands.token import missing_token, token_of
from bot.core.errors import UserInputError
from bot.runtime.settings import Settings

if TYPE_CHECKING:  # the handlers import what they need: `techbrief --help` stays quick
    from rich.console import Console

    from bot.core.briefs import Brief
    from bot.core.briefs.render import DigestFormatter
    from bot.core.i18n import Messages
    from bot.runtime.container import Services

SPAN = re.compile(r"^(\d+)\s*([hdw])$")


def parse_span(text: str) -> timedelta:
    match = SPAN.match(text.strip().lower())
    if not match:
        raise UserInputError(f"--since {text!r}: use a span like 12h, 1d or 2w")
    n, unit = int(match.group(1)), match.group(2)
    return {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]


_ESCAPED = re.compile(r"\\([\\*_~`|>#\-\[\]()<:.0-9])")


def _shown(text: str) -> str:
    """Discord's text as a terminal shows it: the markdown escapes taken back out."""
    return _ESCAPED.sub(r"\1", text)


def print_messages(console: Console, messages: Sequence[Mapping[str, Any]]) -> None:
    """The Discord messages of a brief, readably: header first, then each story card."""
    from rich.text import Text

    for message in messages:
        if message.get("content"):
            console.print(Text(_shown(str(message["content"]))))
        for embed in message.get("embeds") or ():
            author = (embed.get("author") or {}).get("name")
            if author:
                console.print(Text(_shown(str(author)), style="cyan"))
            if embed.get("title"):
                console.print(Text(_shown(str(embed["title"])), style="bold"))
            if embed.get("description"):
                console.print(Text(_shown(str(embed["description"]))))
            for field in embed.get("fields") or ():
                console.print(
                    Text.assemble(
                        (_shown(str(field["name"])), "bold"), " ", _shown(str(field["value"]))
                    )
                )
            footer = (embed.get("footer") or {}).get("text")
            if footer:
                console.print(Text(_shown(str(footer)), style="dim"))
            if embed.get("url"):
                console.print(Text(str(embed["url"]), style="blue underline"))
            console.print()


def brief_messages(
    brief: Brief,
    timezone: str,
    digest_formatter: DigestFormatter | None,
    t: Messages | None = None,
) -> list[dict[str, Any]]:
    """What the publisher would post for this brief: the same render calls planning makes
    (``t``: the channel's guild language, as planning uses)."""
    from bot.core.briefs import render

    if brief.is_empty():
        return [render.nothing_new(brief.local_date, timezone, t).to_dict()]
    header = render.brief_header(brief, timezone, t)
    batches = render.story_batches(brief.shown, timezone, digest_formatter=digest_formatter, t=t)
    return [header.to_dict(), *(b.to_dict() for b in batches)]


async def _summarize_first(services: Services, rounds: int = 20) -> None:
    """Summaries the bot would have made by now, made here, so the cards are the real ones."""
    if services.summaries is None:
        return
    made = 0
    for _ in range(rounds):  # bounded: stories that keep failing are left as they are
        stored = await services.summaries.run_pending()
        if not stored:
            break
        made += stored
        sys.stderr.write(f"summarized {made} stories…\r")
    if made:
        sys.stderr.write(f"summarized {made} stories for this preview\n")


async def _poll_first(services: Services) -> None:
    refresher = getattr(services, "refresher", None)
    if refresher is None:
        raise UserInputError("--fetch: feed polling is not available in this build")
    await refresher.run_due(owner="preview", force=True)


async def cmd_preview(args: argparse.Namespace, settings: Settings) -> int:
    from rich.console import Console

    from bot.core.briefs import Filters, build_brief
    from bot.runtime.container import open_services
    from bot.storage.subscriptions_repo import recent_stories

    console = Console(highlight=False, soft_wrap=True)
    async with open_services(settings) as services:
        if args.fetch:
            await _poll_first(services)
        await _summarize_first(services)
        briefs = services.brief_service()
        now = services.clock()
        ping = None
        t = services.localizer.english
        if args.channel is not None:
            sub = await briefs.require(args.channel)
            brief = await briefs.preview(args.channel)
            tz = sub.timezone
            ping = sub.ping_role_id
            t = services.localizer.messages(sub.guild_locale)
        else:
            stories = await recent_stories(
                services.sessions, since=now - parse_span(args.since), source_keys=args.source or ()
            )
            tz = settings.brief.default_timezone
            brief = build_brief(
                stories,
                filters=Filters(),
                at_local=now,
                per_source_cap=settings.brief.per_source_cap,
            )
        from bot.core.summarize import digest_formatter

        messages = brief_messages(brief, tz, digest_formatter, t)
        if ping is not None and not brief.is_empty():
            from bot.core.briefs.addressing import with_ping

            messages[0] = with_ping(messages[0], ping)  # the channel's header pings its role
    if args.json:
        for message in messages:
            sys.stdout.write(json.dumps(message, ensure_ascii=False) + "\n")
    else:
        print_messages(console, messages)
    return 0


async def cmd_brief_send(args: argparse.Namespace, settings: Settings) -> int:
    token = token_of(settings)
    if not token:
        return missing_token()
    import discord

    from bot.runtime.container import open_services
    from bot.runtime.discord_api import point_discord_at

    point_discord_at(settings.discord.api_base)
    async with open_services(settings) as services:
        client = discord.Client(intents=discord.Intents.none())
        try:
            await client.login(token)  # REST only
            services.discord_http = client.http
            result = await services.brief_service().plan_now(args.channel)
            if services.publisher is not None:
                await services.publisher.run_once()
        finally:
            await client.close()
    if not result.planned:
        print(f"nothing new for channel {args.channel}")
        return 0
    sub = await _status_line(settings, args.channel)
    print(f"sent a brief of {result.stories} stories to channel {args.channel}{sub}")
    return 0


async def _status_line(settings: Settings, channel_id: int) -> str:
    from bot.runtime.container import open_services

    async with open_services(settings) as services:
        sub = await services.brief_service().subs.get(channel_id)
    if sub is not None and sub.paused_reason:
        return f" — but the channel is now paused: {sub.paused_reason}"
    return ""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    preview = sub.add_parser(
        "preview",
        help="print a brief in the terminal (no Discord token needed)",
        description="Print a brief from the database. Without --channel: what a channel "
        "subscribed to every stored feed would get for the last 24 hours.",
    )
    preview.add_argument(
        "--channel", type=int, metavar="ID", help="that configured channel's pending brief"
    )
    preview.add_argument(
        "--since",
        default="24h",
        metavar="SPAN",
        help="stories first stored within this span (12h, 1d, 2w; default 24h)",
    )
    preview.add_argument(
        "--source", action="append", metavar="KEY", help="only this source (repeatable)"
    )
    preview.add_argument("--fetch", action="store_true", help="poll the feeds first")
    preview.add_argument(
        "--json",
        action="store_true",
        help="print the Discord message payloads, one JSON object per line",
    )
    preview.set_defaults(handler=cmd_preview)

    brief = sub.add_parser(
        "brief",
        help="deliver a channel's pending brief now over REST",
        description="Brief operations for operators and cron jobs.",
    )
    brief_sub = brief.add_subparsers(dest="brief_command", metavar="ACTION", required=True)
    send = brief_sub.add_parser(
        "send",
        help="deliver one channel's pending brief now",
        description="Deliver one configured channel's pending brief "
        "now over REST (no gateway connection).",
    )
    send.add_argument(
        "--channel", type=int, required=True, metavar="ID", help="the configured channel"
    )
    send.set_defaults(handler=cmd_brief_send)
