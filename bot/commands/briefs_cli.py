"""`techbrief preview` and `techbrief brief send`: the brief without the gateway."""

from __future__ import annotations

import argparse
import re
from datetime import timedelta
from typing import TYPE_CHECKING

from bot.commands.token import missing_token, token_of
from bot.core.errors import UserInputError
from bot.runtime.settings import Settings

if TYPE_CHECKING:  # the handlers import what they need: `techbrief --help` stays quick
    from rich.console import Console

    from bot.core.briefs import Brief
    from bot.runtime.container import Services

SPAN = re.compile(r"^(\d+)\s*([hdw])$")


def parse_span(text: str) -> timedelta:
    match = SPAN.match(text.strip().lower())
    if not match:
        raise UserInputError(f"--since {text!r}: use a span like 12h, 1d or 2w")
    n, unit = int(match.group(1)), match.group(2)
    return {"h": timedelta(hours=n), "d": timedelta(days=n), "w": timedelta(weeks=n)}[unit]


def print_brief(console: Console, brief: Brief, timezone: str, title: str) -> None:
    """A brief for the terminal: the header list, then each story with its summary."""
    from rich.text import Text

    console.print(Text(title, style="bold"))
    if brief.is_empty():
        console.print("Nothing new.")
        return
    width = max(len(g.key) for g in brief.groups)
    for group in brief.groups:
        for story in group.stories:
            console.print(Text.assemble((f"{group.key:<{width}}", "cyan"), " · ", story.title))
        if group.more:
            console.print(Text(f"{'':<{width}} · …and {group.more} more", style="dim"))
    console.print()
    for story in brief.shown:
        console.print(Text.assemble((story.source_name, "cyan"), " · ", (story.title, "bold")))
        meta = " · ".join(x for x in (story.author, f"{story.published_at:%Y-%m-%d}") if x)
        console.print(Text(meta, style="dim"))
        if story.url:
            console.print(Text(story.url, style="blue underline"))
        if story.summary:
            console.print(Text(story.summary[:600] + ("…" if len(story.summary) > 600 else "")))
        console.print()


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
        briefs = services.brief_service()
        now = services.clock()
        if args.channel is not None:
            sub = await briefs.require(args.channel)
            brief = await briefs.preview(args.channel)
            tz = sub.timezone
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
        from bot.core.briefs.render import brief_title

        print_brief(console, brief, tz, brief_title(brief, tz))
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
