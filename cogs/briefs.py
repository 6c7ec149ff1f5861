"""/brief and /filter: admins set up channels, see status, preview, send and stop briefs."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.briefs import WEEKDAYS, render, render_admin
from bot.core.briefs.addressing import ping_line
from bot.core.briefs.planning import BriefService
from bot.core.briefs.render import channel_mention
from bot.core.briefs.setup_input import suggest_timezones
from bot.core.errors import UserInputError
from bot.core.i18n import Messages
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
    tr,
)

log = logging.getLogger(__name__)


def ping_problem(
    role: discord.Role,
    channel: discord.abc.GuildChannel,
    me: discord.Member | None,
    t: Messages | None = None,
) -> str | None:
    """Why the bot could not ping `role` in `channel` (None when it can), in the reader's
    language (Discord's own names for the permission and the role setting)."""
    t = t or Messages.english()
    if role.is_default():
        return t.gettext("`@everyone` is not a role I ping; pick a role people can join.")
    if role.mentionable or me is None or channel.permissions_for(me).mention_everyone:
        return None
    return t.gettext(
        "I can't ping {role}: it is not mentionable and I don't have **{permission}** in "
        "{channel}. Turn on *{setting}* in the role's settings (or give me that permission "
        "there), then run this again. Nothing was changed.",
        role=role.mention,
        channel=channel.mention,
        permission=t.gettext("Mention @everyone, @here, and All Roles"),
        setting=t.gettext("Allow anyone to @mention this role"),
    )


def schedule_text(
    t: Messages, mode: str, every: str, weekday: int | None, at: str, zone: str
) -> str:
    """When a channel's brief comes, in the reader's words."""
    if mode == "realtime":
        return t.gettext("each story as it arrives")
    if every == "weekdays":
        return t.gettext("on weekdays at {time} ({zone})", time=at, zone=zone)
    if every == "weekly":
        day = t.gettext(WEEKDAYS[weekday or 0].capitalize())
        return t.gettext("every {day} at {time} ({zone})", day=day, time=at, zone=zone)
    return t.gettext("every day at {time} ({zone})", time=at, zone=zone)


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
        t = tr(interaction)
        guild = interaction.guild
        me = guild.me if guild else None
        forum = isinstance(channel, discord.ForumChannel)
        missing = check_postable(channel, me, t)
        if forum and me is not None and not channel.permissions_for(me).send_messages_in_threads:
            missing.append(t.gettext("Send Messages in Threads"))
        if missing:
            await reply(
                interaction,
                t.gettext(
                    "I can't post in {channel}: I need **{perms}** there. "
                    "Fix that and run this again.",
                    channel=channel.mention,
                    perms=", ".join(missing),
                ),
            )
            return
        problem = ping_problem(ping, channel, me, t) if ping is not None else None
        if problem:
            await reply(interaction, problem)
            return
        keys = [
            k.strip().lower() for k in (sources or "").replace(" ", ",").split(",") if k.strip()
        ]
        await defer(interaction)
        if guild is not None:
            await self.service.guild_seen(
                guild.id,
                guild.name,
                guild.system_channel.id if guild.system_channel else None,
                locale=str(guild.preferred_locale),
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
        when = schedule_text(t, sub.mode, sub.every, sub.weekday, sub.brief_time, sub.timezone)
        if sub.all_sources:
            sources = t.gettext("all catalog sources")
        else:
            sources = ", ".join(keys) or t.gettext(
                "{count} chosen sources (unchanged)", count=len(sub.feeds)
            )
        lines = [
            t.gettext("Set up {channel}: {when}.", channel=channel.mention, when=when)
            if created
            else t.gettext("Updated {channel}: {when}.", channel=channel.mention, when=when),
            t.gettext("Sources: {sources}", sources=sources),
            t.gettext(
                "New stories from now on are included (no backlog flood); "
                "`/brief now` shows what is waiting."
            ),
        ]
        if sub.ping_role_id is not None:
            lines.append(
                t.gettext(
                    "Each brief pings {role} (`/brief unping` stops it).",
                    role=ping_line(sub.ping_role_id),
                )
            )
        if forum:
            lines.append(
                t.gettext("Each brief is a new post in the forum, its stories as replies.")
            )
        elif not can_thread(channel, me):
            lines.append(
                t.gettext(
                    "Note: I can't create threads there, so stories follow the header as "
                    "messages in the channel."
                )
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
        t = tr(interaction)
        await defer(interaction)
        channel_id = _channel_id(interaction, channel)
        role_id = await self.service.unping(channel_id)
        where = channel_mention(channel_id)
        if role_id is None:
            await reply(
                interaction, t.gettext("Briefs in {channel} ping nobody already.", channel=where)
            )
            return
        await reply(
            interaction,
            t.gettext(
                "Briefs in {channel} no longer ping {role}.", channel=where, role=ping_line(role_id)
            ),
        )

    @app_commands.command(name="status", description="Channels, next brief times, waiting stories")
    async def status(self, interaction: discord.Interaction[TechbriefBot]) -> None:
        await defer(interaction)
        guild_id = guild_id_of(interaction)
        statuses = await self.service.status(guild_id)
        failing = [f for f in await self.service.sources(guild_id) if f.error_count > 0]
        embed = render_admin.status_embed(
            statuses, failing, self.bot.services.clock(), tr(interaction)
        )
        await reply(interaction, embed=embed)

    @app_commands.command(name="now", description="Preview what the next brief would contain")
    @app_commands.describe(channel="The configured channel (default: this one)")
    async def now(
        self, interaction: discord.Interaction[TechbriefBot], channel: BriefChannel | None = None
    ) -> None:
        t = tr(interaction)
        await defer(interaction)
        channel_id = _channel_id(interaction, channel)
        sub = await self.service.require(channel_id)
        brief = await self.service.preview(channel_id)
        if brief.is_empty():
            await reply(
                interaction,
                t.gettext(
                    "Nothing new for {channel} since its last brief.",
                    channel=channel_mention(channel_id),
                ),
            )
            return
        header = render.brief_header(brief, sub.timezone, t)
        await reply(
            interaction, t.gettext("Preview (nothing is marked as sent):"), embed=header.embeds[0]
        )

    @app_commands.command(name="send", description="Deliver the pending brief now")
    @app_commands.describe(channel="The configured channel (default: this one)")
    async def send(
        self, interaction: discord.Interaction[TechbriefBot], channel: BriefChannel | None = None
    ) -> None:
        t = tr(interaction)
        await defer(interaction)
        channel_id = _channel_id(interaction, channel)
        result = await self.service.plan_now(channel_id)
        if not result.planned:
            await reply(
                interaction,
                t.gettext("Nothing new to send to {channel}.", channel=channel_mention(channel_id)),
            )
            return
        self.bot.services.send_soon()
        await reply(
            interaction,
            t.gettext(
                "Queued a brief of {count} stories for {channel}; it is on its way. "
                "`/brief status` shows if the channel could not be reached.",
                count=result.stories,
                channel=channel_mention(channel_id),
            ),
        )

    @app_commands.command(name="stop", description="Stop posting briefs in a channel")
    @app_commands.describe(channel="The configured channel (default: this one)")
    async def stop(
        self, interaction: discord.Interaction[TechbriefBot], channel: BriefChannel | None = None
    ) -> None:
        t = tr(interaction)
        channel_id = _channel_id(interaction, channel)
        await self.service.require(channel_id)
        view = ConfirmView(interaction.user.id, confirm_label=t.gettext("Stop the brief"), t=t)
        await interaction.response.send_message(
            t.gettext(
                "Stop posting briefs in {channel}? Its sources and filters are forgotten.",
                channel=channel_mention(channel_id),
            ),
            view=view,
            ephemeral=True,
        )
        view.origin = interaction
        await view.wait()
        if view.confirmed:
            await self.service.stop(channel_id)
            await interaction.followup.send(
                t.gettext("Stopped the brief in {channel}.", channel=channel_mention(channel_id)),
                ephemeral=True,
            )
        elif view.confirmed is False:
            await interaction.followup.send(t.gettext("Kept it running."), ephemeral=True)


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
        t = tr(interaction)
        await defer(interaction)
        channel_id = _channel_id(interaction, channel)
        passing = await self.bot.services.brief_service().set_filter(channel_id, kind, keyword)
        where = f"<#{channel_id}>"
        if keyword is None:
            text = t.gettext(
                "All filters cleared in {channel}. {count} waiting stories pass.",
                channel=where,
                count=passing,
            )
        elif kind == "include":
            text = t.gettext(
                "Only stories mentioning **{keyword}** (or another include keyword) in "
                "{channel}. {count} waiting stories pass.",
                keyword=keyword,
                channel=where,
                count=passing,
            )
        else:
            text = t.gettext(
                "No stories mentioning **{keyword}** in {channel}. {count} waiting stories pass.",
                keyword=keyword,
                channel=where,
                count=passing,
            )
        await reply(interaction, text)

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

    @commands.Cog.listener()
    async def on_guild_update(self, before: discord.Guild, after: discord.Guild) -> None:
        # An admin changed the community's language (or name): later briefs follow it.
        if (before.preferred_locale, before.name) != (after.preferred_locale, after.name):
            await self._remember(after)

    async def _remember(self, guild: discord.Guild) -> None:
        system = guild.system_channel.id if guild.system_channel else None
        # The guild's language is kept for briefs planned by a sender without the gateway.
        await self.service.guild_seen(
            guild.id, guild.name, system, locale=str(guild.preferred_locale)
        )

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
