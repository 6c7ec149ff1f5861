"""/brief and /filter: admins set up channels, see status, preview, send and stop briefs."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.briefs import WEEKDAYS, cadence_text, render
from bot.core.briefs.planning import BriefService, suggest_timezones
from bot.core.errors import UserInputError
from bot.runtime.client import TechbriefBot
from cogs.channels import BriefChannel
from cogs.common import (
    ConfirmView,
    can_thread,
    check_postable,
    defer,
    guild_id_of,
    reply,
    require_manage_server,
)

log = logging.getLogger(__name__)


def ping_problem(
    role: discord.Role, channel: discord.abc.GuildChannel, me: discord.Member | None
) -> str | None:
    """Why the bot could not ping `role` in `channel` (None when it can)."""
    if role.is_default():
        return "`@everyone` is not a role I ping; pick a role people can join."
    if role.mentionable or me is None or channel.permissions_for(me).mention_everyone:
        return None
    return (
        f"I can't ping {role.mention}: it is not mentionable and I don't have **Mention "
        f"@everyone, @here, and All Roles** in {channel.mention}. Turn on *Allow anyone to "
        "@mention this role* in the role's settings (or give me that permission there), "
        "then run this again. Nothing was changed."
    )


def _channel_id(interaction: discord.Interaction[Any], channel: BriefChannel | None) -> int:
    if channel is not None:
        return channel.id
    if interaction.channel_id is None:
        raise UserInputError("Pick a channel.")
    return interaction.channel_id


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class BriefGroup(app_commands.Group, name="brief", description="Set up and manage the daily brief"):
    def __init__(self, bot: TechbriefBot) -> None:
        super().__init__()
        self.bot = bot

    @property
    def service(self) -> BriefService:
        return self.bot.services.brief_service()

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return require_manage_server(interaction)

    @app_commands.command(
        name="setup", description="Post the brief in a channel: when, how often, which sources"
    )
    @app_commands.describe(
        channel="Where the brief is posted: a text channel, or a forum (a new post per brief)",
        time="Daily time as HH:MM (24-hour), e.g. 09:00",
        timezone="Your time zone, e.g. Europe/Berlin (start typing to search)",
        mode="Daily brief (default) or each story as it arrives",
        sources="Optional: only these source keys, comma-separated (see /sources)",
        every="How often the brief comes: every day (default), on weekdays, or once a week",
        day="For a weekly brief: the day it comes (default Monday)",
        ping="Optional: a role the brief mentions (kept until /brief unping)",
    )
    @app_commands.choices(
        mode=[
            app_commands.Choice(name="Daily brief", value="brief"),
            app_commands.Choice(name="Realtime (each story as it arrives)", value="realtime"),
        ],
        every=[
            app_commands.Choice(name="Every day", value="daily"),
            app_commands.Choice(name="Weekdays (Monday to Friday)", value="weekdays"),
            app_commands.Choice(name="Weekly", value="weekly"),
        ],
        day=[app_commands.Choice(name=d.capitalize(), value=d) for d in WEEKDAYS],
    )
    async def setup(
        self,
        interaction: discord.Interaction[TechbriefBot],
        channel: BriefChannel,
        time: str,
        timezone: str,
        mode: str = "brief",
        sources: str | None = None,
        every: str = "daily",
        day: str | None = None,
        ping: discord.Role | None = None,
    ) -> None:
        guild = interaction.guild
        me = guild.me if guild else None
        forum = isinstance(channel, discord.ForumChannel)
        missing = check_postable(channel, me)
        if forum and me is not None and not channel.permissions_for(me).send_messages_in_threads:
            missing.append("Send Messages in Threads")
        if missing:
            await reply(
                interaction,
                f"I can't post in {channel.mention}: I need "
                f"**{', '.join(missing)}** there. Fix that and run this again.",
            )
            return
        problem = ping_problem(ping, channel, me) if ping is not None else None
        if problem:
            await reply(interaction, problem)
            return
        keys = [
            k.strip().lower() for k in (sources or "").replace(" ", ",").split(",") if k.strip()
        ]
        await defer(interaction)
        if guild is not None:
            await self.service.guild_seen(
                guild.id, guild.name, guild.system_channel.id if guild.system_channel else None
            )
        sub, created = await self.service.setup(
            guild_id=guild_id_of(interaction),
            channel_id=channel.id,
            time_text=time,
            timezone=timezone,
            mode=mode,
            source_keys=keys or None,
            by=interaction.user.id,
            every=every,
            day=day,
            ping_role_id=ping.id if ping is not None else None,
            channel_kind="forum" if forum else "text",
        )
        cadence = cadence_text(sub.every, sub.weekday)
        when = (
            "each story as it arrives"
            if sub.mode == "realtime"
            else f"{'every day' if cadence == 'daily' else cadence} at {sub.brief_time} "
            f"({sub.timezone})"
        )
        lines = [
            f"{'Set up' if created else 'Updated'} {channel.mention}: {when}.",
            "Sources: "
            + (
                "all catalog sources"
                if sub.all_sources
                else ", ".join(keys) or f"{len(sub.feeds)} chosen sources (unchanged)"
            ),
            "New stories from now on are included (no backlog flood); "
            "`/brief now` shows what is waiting.",
        ]
        if sub.ping_role_id is not None:
            lines.append(f"Each brief pings <@&{sub.ping_role_id}> (`/brief unping` stops it).")
        if forum:
            lines.append("Each brief is a new post in the forum, its stories as replies.")
        elif not can_thread(channel, me):
            lines.append(
                "Note: I can't create threads there, so stories follow the header as "
                "messages in the channel."
            )
        await reply(interaction, "\n".join(lines))

    @setup.autocomplete("timezone")
    async def timezone_autocomplete(
        self, _interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=n, value=n) for n in suggest_timezones(current, 25)]

    @app_commands.command(name="unping", description="Stop a channel's brief mentioning a role")
    @app_commands.describe(channel="The configured channel (default: this one)")
    async def unping(
        self, interaction: discord.Interaction[TechbriefBot], channel: BriefChannel | None = None
    ) -> None:
        await defer(interaction)
        channel_id = _channel_id(interaction, channel)
        role_id = await self.service.unping(channel_id)
        if role_id is None:
            await reply(interaction, f"Briefs in <#{channel_id}> ping nobody already.")
            return
        await reply(interaction, f"Briefs in <#{channel_id}> no longer ping <@&{role_id}>.")

    @app_commands.command(name="status", description="Channels, next brief times, waiting stories")
    async def status(self, interaction: discord.Interaction[TechbriefBot]) -> None:
        await defer(interaction)
        guild_id = guild_id_of(interaction)
        statuses = await self.service.status(guild_id)
        failing = [f for f in await self.service.sources(guild_id) if f.error_count > 0]
        embed = render.status_embed(statuses, failing, self.bot.services.clock())
        await reply(interaction, embed=embed)

    @app_commands.command(name="now", description="Preview what the next brief would contain")
    @app_commands.describe(channel="The configured channel (default: this one)")
    async def now(
        self, interaction: discord.Interaction[TechbriefBot], channel: BriefChannel | None = None
    ) -> None:
        await defer(interaction)
        channel_id = _channel_id(interaction, channel)
        sub = await self.service.require(channel_id)
        brief = await self.service.preview(channel_id)
        if brief.is_empty():
            await reply(interaction, f"Nothing new for <#{channel_id}> since its last brief.")
            return
        header = render.brief_header(brief, sub.timezone)
        await reply(interaction, "Preview (nothing is marked as sent):", embed=header.embeds[0])

    @app_commands.command(name="send", description="Deliver the pending brief now")
    @app_commands.describe(channel="The configured channel (default: this one)")
    async def send(
        self, interaction: discord.Interaction[TechbriefBot], channel: BriefChannel | None = None
    ) -> None:
        await defer(interaction)
        channel_id = _channel_id(interaction, channel)
        result = await self.service.plan_now(channel_id)
        if not result.planned:
            await reply(interaction, f"Nothing new to send to <#{channel_id}>.")
            return
        self.bot.services.send_soon()
        await reply(
            interaction,
            f"Queued a brief of {result.stories} stories for <#{channel_id}>; it is on its way. "
            "`/brief status` shows if the channel could not be reached.",
        )

    @app_commands.command(name="stop", description="Stop posting briefs in a channel")
    @app_commands.describe(channel="The configured channel (default: this one)")
    async def stop(
        self, interaction: discord.Interaction[TechbriefBot], channel: BriefChannel | None = None
    ) -> None:
        channel_id = _channel_id(interaction, channel)
        await self.service.require(channel_id)
        view = ConfirmView(interaction.user.id, confirm_label="Stop the brief")
        await interaction.response.send_message(
            f"Stop posting briefs in <#{channel_id}>? Its sources and filters are forgotten.",
            view=view,
            ephemeral=True,
        )
        view.origin = interaction
        await view.wait()
        if view.confirmed:
            await self.service.stop(channel_id)
            await interaction.followup.send(
                f"Stopped the brief in <#{channel_id}>.", ephemeral=True
            )
        elif view.confirmed is False:
            await interaction.followup.send("Kept it running.", ephemeral=True)


@app_commands.default_permissions(manage_guild=True)
@app_commands.guild_only()
class FilterGroup(
    app_commands.Group,
    name="filter",
    description="Keep or drop stories by keyword in a channel's brief",
):
    def __init__(self, bot: TechbriefBot) -> None:
        super().__init__()
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return require_manage_server(interaction)

    async def _set(
        self,
        interaction: discord.Interaction[TechbriefBot],
        kind: str,
        keyword: str | None,
        channel: BriefChannel | None,
    ) -> None:
        await defer(interaction)
        channel_id = _channel_id(interaction, channel)
        passing = await self.bot.services.brief_service().set_filter(channel_id, kind, keyword)
        what = {
            "include": f"Only stories mentioning **{keyword}** (or another include keyword)",
            "exclude": f"No stories mentioning **{keyword}**",
            "clear": "All filters cleared",
        }[kind if keyword is not None else "clear"]
        await reply(interaction, f"{what} in <#{channel_id}>. {passing} waiting stories pass.")

    @app_commands.command(name="include", description="Only keep stories that mention a keyword")
    @app_commands.describe(
        keyword="Matched in title, summary and tags, any case",
        channel="The configured channel (default: this one)",
    )
    async def include(
        self,
        interaction: discord.Interaction[TechbriefBot],
        keyword: str,
        channel: BriefChannel | None = None,
    ) -> None:
        await self._set(interaction, "include", keyword, channel)

    @app_commands.command(name="exclude", description="Drop stories that mention a keyword")
    @app_commands.describe(
        keyword="Matched in title, summary and tags, any case",
        channel="The configured channel (default: this one)",
    )
    async def exclude(
        self,
        interaction: discord.Interaction[TechbriefBot],
        keyword: str,
        channel: BriefChannel | None = None,
    ) -> None:
        await self._set(interaction, "exclude", keyword, channel)

    @app_commands.command(name="clear", description="Remove every keyword filter of a channel")
    @app_commands.describe(channel="The configured channel (default: this one)")
    async def clear(
        self, interaction: discord.Interaction[TechbriefBot], channel: BriefChannel | None = None
    ) -> None:
        await self._set(interaction, "include", None, channel)


class Briefs(commands.Cog):
    """Guild and channel lifecycle: keep the database in step with what Discord says."""

    def __init__(self, bot: TechbriefBot) -> None:
        self.bot = bot

    @property
    def service(self) -> BriefService:
        return self.bot.services.brief_service()

    @commands.Cog.listener()
    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self._remember(guild)

    @commands.Cog.listener()
    async def on_guild_available(self, guild: discord.Guild) -> None:
        await self._remember(guild)

    async def _remember(self, guild: discord.Guild) -> None:
        system = guild.system_channel.id if guild.system_channel else None
        await self.service.guild_seen(guild.id, guild.name, system)

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        removed = await self.service.guild_left(guild.id)
        log.info("left guild", extra={"guild": guild.id, "subscriptions_removed": removed})

    @commands.Cog.listener()
    async def on_guild_role_delete(self, role: discord.Role) -> None:
        if cleared := await self.service.role_deleted(role.id):
            log.info("pinged role deleted", extra={"role": role.id, "channels": cleared})

    @commands.Cog.listener()
    async def on_guild_channel_delete(self, channel: discord.abc.GuildChannel) -> None:
        if await self.service.channel_deleted(channel.id):
            log.info("channel deleted; its brief is gone", extra={"channel_id": channel.id})


async def setup(bot: TechbriefBot) -> None:
    bot.tree.add_command(BriefGroup(bot))
    bot.tree.add_command(FilterGroup(bot))
    await bot.add_cog(Briefs(bot))
