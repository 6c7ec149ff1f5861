"""/sources, /subscribe and /unsubscribe: which blogs a channel's brief draws from."""

from __future__ import annotations

from typing import Any, TypeAlias

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.briefs import render_admin
from bot.core.briefs.planning import BriefService
from bot.runtime.client import TechbriefBot
from cogs.channels import BriefChannel
from cogs.common import defer, guild_id_of, reply, require_manage_server, tr
from cogs.paginator import Page, Paginator

PER_PAGE = 10
TextChannel: TypeAlias = BriefChannel  # text, announcement or forum channels


class Sources(commands.Cog):
    def __init__(self, bot: TechbriefBot) -> None:
        self.bot = bot

    @property
    def service(self) -> BriefService:
        return self.bot.services.brief_service()

    async def source_choices(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        needle = current.strip().lower()
        rows = await self.service.sources(interaction.guild_id)
        hits = [r for r in rows if needle in r.key or needle in r.title.lower()]
        return [
            app_commands.Choice(name=f"{r.key} · {r.title}"[:100], value=r.key) for r in hits[:25]
        ]

    @app_commands.command(name="sources", description="The blogs techbrief can follow")
    @app_commands.describe(channel="Show which sources this configured channel gets")
    @app_commands.guild_only()
    async def sources(
        self, interaction: discord.Interaction[TechbriefBot], channel: TextChannel | None = None
    ) -> None:
        t = tr(interaction)
        await defer(interaction)
        rows = await self.service.sources(guild_id_of(interaction))
        subscribed: set[int] | None = None
        if channel is not None:
            sub = await self.service.require(channel.id)
            chosen = {f.feed_id for f in sub.feeds}
            catalog = {r.id for r in rows if r.origin == "catalog"} if sub.all_sources else set()
            subscribed = chosen | catalog

        async def page(index: int) -> Page:
            embed = render_admin.sources_page(
                rows, page=index, per_page=PER_PAGE, subscribed=subscribed, t=t
            )
            pages = max(1, -(-len(rows) // PER_PAGE))
            return Page(embed=embed, has_next=index + 1 < pages, pages=pages)

        await Paginator(interaction.user.id, page, t=t).start(interaction)

    @app_commands.command(name="subscribe", description="Add a source to a channel's brief")
    @app_commands.describe(source="The source key (start typing)", channel="The configured channel")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def subscribe(
        self, interaction: discord.Interaction[TechbriefBot], source: str, channel: TextChannel
    ) -> None:
        require_manage_server(interaction)
        await defer(interaction)
        outcome, title = await self.service.subscribe(
            guild_id_of(interaction), channel.id, source.lower()
        )
        await reply(
            interaction, render_admin.source_answer(outcome, channel.id, title, tr(interaction))
        )

    @app_commands.command(name="unsubscribe", description="Remove a source from a channel's brief")
    @app_commands.describe(source="The source key (start typing)", channel="The configured channel")
    @app_commands.default_permissions(manage_guild=True)
    @app_commands.guild_only()
    async def unsubscribe(
        self, interaction: discord.Interaction[TechbriefBot], source: str, channel: TextChannel
    ) -> None:
        require_manage_server(interaction)
        await defer(interaction)
        outcome, title = await self.service.unsubscribe(
            guild_id_of(interaction), channel.id, source.lower()
        )
        await reply(
            interaction, render_admin.source_answer(outcome, channel.id, title, tr(interaction))
        )

    @subscribe.autocomplete("source")
    async def _sub_source(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.source_choices(interaction, current)

    @unsubscribe.autocomplete("source")
    async def _unsub_source(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return await self.source_choices(interaction, current)


async def setup(bot: TechbriefBot) -> None:
    await bot.add_cog(Sources(bot))
