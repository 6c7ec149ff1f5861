"""/search: ranked stories from the archive, five a page, only for the person who asked.

validate (query syntax, dates: no I/O, so a typo is answered at once) -> defer -> the search
service, one page per call, through the paginator -> render_personal -> ephemeral reply.
Each result has a Bookmark button (the persistent ``tb:bm:<id>`` handler from cogs.bookmarks).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.briefs import render_personal as rp
from bot.core.briefs.safetext import CHOICE_VALUE, CHOICES
from bot.core.errors import TechbriefError
from bot.core.search.query import parse_when
from bot.core.search.service import SearchService
from bot.runtime.client import TechbriefBot
from cogs.bookmarks import BookmarkButton, guarded_autocomplete, search_service_of, services_of
from cogs.common import defer, tr
from cogs.paginator import Page, Paginator


def search_cooldown(interaction: discord.Interaction[Any]) -> app_commands.Cooldown | None:
    """One /search per user every `search.cooldown_seconds` (read per call: settings win)."""
    seconds = services_of(interaction).settings.search.cooldown_seconds
    return app_commands.Cooldown(1, seconds) if seconds > 0 else None


def require_search(bot: TechbriefBot) -> SearchService:
    service = search_service_of(bot.services)
    if service is None:
        raise TechbriefError("Search is not available right now; please try again later.")
    return service


class Search(commands.Cog):
    def __init__(self, bot: TechbriefBot) -> None:
        self.bot = bot

    @app_commands.command(name="search", description="Search the story archive (only you see it)")
    @app_commands.describe(
        query='Words (all must match), "a phrase", -exclude, source:key, after:2026-10-01',
        source="Only stories from this source",
        after="Published on or after: YYYY-MM-DD, or a span back like 7d, 2w, 3m",
        before="Published before: YYYY-MM-DD, or a span back like 7d, 2w, 3m",
    )
    @app_commands.checks.dynamic_cooldown(search_cooldown)
    async def search(
        self,
        interaction: discord.Interaction[TechbriefBot],
        query: str,
        source: str | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> None:
        service = require_search(self.bot)
        t = tr(interaction)
        # One "now" for every page: "after:7d" must not drift while the reader pages.
        now = self.bot.services.clock()
        service.parse(query, now=now)  # QueryError (shown to the user) before any I/O
        after_at = parse_when(after, now=now, name="after") if after else None
        before_at = parse_when(before, now=now, name="before") if before else None
        key = source.strip().lower() if source and source.strip() else None
        # Only what this server may see: its own custom feeds and the shared ones (a DM:
        # shared only). Fixed now, like the clock: every page asks for the same audience.
        guild_id = interaction.guild_id

        async def fetch(index: int) -> Page:
            page = await service.search(
                query,
                limit=rp.PER_PAGE,
                offset=index * rp.PER_PAGE,
                source=key,
                after=after_at,
                before=before_at,
                now=now,
                guild_id=guild_id,
            )
            # An unknown total ("1,000+") has a next page while pages come back full.
            has_next = page.has_more if page.total is not None else len(page.hits) == rp.PER_PAGE
            return Page(
                embed=rp.search_embed(
                    query, page, source=key, after=after_at, before=before_at, t=t
                ),
                bookmarks=rp.search_buttons(page, t),
                has_next=has_next,
                pages=rp.search_pages(page),
            )

        await defer(interaction)
        await Paginator(interaction.user.id, fetch, t=t).start(interaction)

    @search.autocomplete("source")
    async def source_autocomplete(
        self, interaction: discord.Interaction[TechbriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        services = self.bot.services
        guild_id = interaction.guild_id

        async def produce() -> list[app_commands.Choice[str]]:
            # The catalog (also before it reached the database) and this guild's own feeds.
            titles = {feed.key: feed.name for feed in services.catalog}
            for row in await services.brief_service().sources(guild_id):
                titles.setdefault(row.key, row.title)
            wanted = current.strip().lower()
            matches = sorted(
                (key, title)
                for key, title in titles.items()
                if wanted in key.lower() or wanted in (title or "").lower()
            )
            # Keys that start with the typed text first: "ne" -> netflix before kakao-engineering.
            matches.sort(key=lambda kt: not kt[0].lower().startswith(wanted))
            return [
                app_commands.Choice(name=rp.source_choice_name(k, t), value=k[:CHOICE_VALUE])
                for k, t in matches[:CHOICES]
            ]

        return await guarded_autocomplete("source", produce)


async def setup(bot: TechbriefBot) -> None:
    # Result pages carry Bookmark buttons; make sure their persistent handler exists even when
    # cogs.bookmarks is not loaded (registering twice is harmless: keyed by the template).
    bot.add_dynamic_items(BookmarkButton)
    await bot.add_cog(Search(bot))
