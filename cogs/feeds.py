"""/feed add|remove|list|status: the feeds a server adds itself (admins: Manage Server).

Thin on purpose: FeedService fetches, validates and stores (its UserInputError / NotFoundError
messages reach the admin verbatim through the shared error handler); bot.core.briefs.render builds
every payload. Every answer is ephemeral, and every command defers before its first I/O because
`/feed add` fetches a remote document that may take the whole 20 s fetch timeout.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import discord
from discord import app_commands

from bot.core.briefs import render
from bot.core.ingest.feed_service import FeedService
from bot.runtime.client import TechbriefBot
from cogs.channels import BriefChannel
from cogs.common import defer, guild_id_of, reply, require_manage_server, tr
from cogs.paginator import Page, Paginator

TextChannel: TypeAlias = BriefChannel  # text, announcement or forum channels


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class FeedGroup(app_commands.Group, name="feed", description="Add and watch this server's feeds"):
    def __init__(self, bot: TechbriefBot) -> None:
        super().__init__()
        self.bot = bot

    @property
    def service(self) -> FeedService:
        return self.bot.services.feed_service()

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        # Default permissions can be overridden per server, so check again at run time.
        return require_manage_server(interaction)

    @app_commands.command(name="add", description="Follow any RSS, Atom or JSON feed by its URL")
    @app_commands.describe(
        url="The feed's address, e.g. https://example.com/feed.xml",
        channel="Optional: also add it to this configured channel's brief",
    )
    async def add(
        self,
        interaction: discord.Interaction[TechbriefBot],
        url: str,
        channel: TextChannel | None = None,
    ) -> None:
        await defer(interaction)
        guild_id = guild_id_of(interaction)
        briefs = self.bot.services.brief_service()
        if channel is not None:
            # Checked before fetching, so a channel without a brief gets its answer and
            # leaves no half-done add behind.
            await briefs.require(channel.id)
        added = await self.service.add_custom(url, guild_id=guild_id)
        if channel is not None:
            # The answer is rendered here (not BriefService's text) so the hostile feed title
            # goes through safetext like everywhere else.
            await briefs.subscribe(guild_id, channel.id, added.key)
        text = render.feed_added_text(
            added, channel_id=channel.id if channel else None, t=tr(interaction)
        )
        await reply(interaction, text)

    @app_commands.command(name="remove", description="Stop following one of this server's feeds")
    @app_commands.describe(feed="The feed to remove (start typing its key or title)")
    async def remove(self, interaction: discord.Interaction[TechbriefBot], feed: str) -> None:
        await defer(interaction)
        removed = await self.service.remove(feed, guild_id_of(interaction))
        await reply(interaction, render.feed_removed_text(removed, tr(interaction)))

    @app_commands.command(
        name="rename", description="Show one of this server's feeds by another name"
    )
    @app_commands.describe(
        feed="The feed to rename (start typing its key or title)",
        name="The name briefs, search and bookmarks show (up to 80 characters)",
    )
    async def rename(
        self,
        interaction: discord.Interaction[TechbriefBot],
        feed: str,
        name: app_commands.Range[str, 1, 200],
    ) -> None:
        await defer(interaction)
        renamed = await self.service.rename(feed, guild_id_of(interaction), name)
        await reply(interaction, render.feed_renamed_text(renamed, tr(interaction)))

    @rename.autocomplete("feed")
    @remove.autocomplete("feed")
    async def feed_autocomplete(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        # discord.py runs no interaction_check for autocomplete: only admins see the list.
        if interaction.guild_id is None or not interaction.permissions.manage_guild:
            return []
        rows = await self.service.list(interaction.guild_id)
        return [
            app_commands.Choice(name=name, value=key)
            for name, key in render.feed_choices(rows, current)
        ]

    @app_commands.command(name="list", description="The feeds this server added")
    async def list_feeds(self, interaction: discord.Interaction[TechbriefBot]) -> None:
        await defer(interaction)
        t = tr(interaction)
        rows = await self.service.list(guild_id_of(interaction))
        now = self.bot.services.clock()
        per_page = render.FEEDS_PER_PAGE
        pages = max(1, -(-len(rows) // per_page))

        async def page(index: int) -> Page:
            embed = render.feeds_page(rows, page=index, per_page=per_page, now=now, t=t)
            return Page(embed=embed, has_next=index + 1 < pages, pages=pages)

        await Paginator(interaction.user.id, page, t=t).start(interaction)

    @app_commands.command(name="status", description="Feeds this server uses that are failing")
    async def status(self, interaction: discord.Interaction[TechbriefBot]) -> None:
        await defer(interaction)
        rows = await self.service.status(guild_id_of(interaction), include_catalog=True)
        embed = render.feed_status_embed(rows, self.bot.services.clock(), tr(interaction))
        await reply(interaction, embed=embed)


async def setup(bot: TechbriefBot) -> None:
    bot.tree.add_command(FeedGroup(bot))
