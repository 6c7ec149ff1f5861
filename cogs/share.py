"""/share and the "Share story" message menu: pass a story on into a channel with a comment.

Both paths end in ``share_into``: check at run time that the sharer may post in the channel and
the bot may too (each missing permission named), defer, reserve the share with the service
(comment, visibility, once a day per channel, cooldown), post the brief's card with the
sharer's line, mark it posted (or forget it when Discord refused), and confirm ephemerally
with a link. The menu asks for the comment in a form (a modal); a message holding several
stories first asks which one.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.briefs import render_personal as rp
from bot.core.briefs import render_share as rs
from bot.core.briefs.render import plain
from bot.core.briefs.safetext import truncate
from bot.core.errors import UserInputError
from bot.core.i18n import Messages
from bot.core.share import ShareCooldown, ShareLink
from bot.core.share.service import MAX_COMMENT_CHARS, ShareService
from bot.runtime.client import TechbriefBot
from bot.runtime.errors import error_text
from bot.runtime.i18n import guild_messages_for
from bot.runtime.post import post_message
from bot.runtime.replies import NO_MENTIONS
from cogs.bookmarks import (
    guarded_autocomplete,
    message_stories,
    services_of,
    story_id_of,
    story_suggestions,
)
from cogs.common import defer, guild_id_of, reply, tr
from cogs.paginator import OwnerView, answer_component_error

log = logging.getLogger(__name__)

_NUMBERED = re.compile(r"^\d+\.\s")
MODAL_TIMEOUT_S = 15 * 60  # Discord keeps an interaction's form usable this long
ShareTarget = discord.TextChannel | discord.Thread | discord.VoiceChannel


def _missing(
    perms: discord.Permissions, needed: tuple[tuple[str, str], ...], t: Messages
) -> list[str]:
    return [t.gettext(name) for attr, name in needed if not getattr(perms, attr)]


def share_blockers(
    channel: ShareTarget, member: discord.Member, me: discord.Member, t: Messages | None = None
) -> tuple[list[str], list[str]]:
    """The permissions the sharer and the bot lack in ``channel`` (Discord's names, as the
    reader's client shows them)."""
    t = t or Messages.english()
    send = (
        ("send_messages_in_threads", rs.SEND_IN_THREADS)
        if isinstance(channel, discord.Thread)
        else ("send_messages", rs.SEND_MESSAGES)
    )
    view = ("view_channel", rs.VIEW_CHANNEL)
    yours = _missing(channel.permissions_for(member), (view, send), t)
    mine = _missing(channel.permissions_for(me), (view, send, ("embed_links", rs.EMBED_LINKS)), t)
    return yours, mine


def target_of(interaction: discord.Interaction[Any]) -> ShareTarget:
    channel = interaction.channel
    if not isinstance(channel, ShareTarget):
        raise UserInputError("Stories can only be shared in a server's text channels and threads.")
    return channel


async def blocked(interaction: discord.Interaction[Any], channel: ShareTarget) -> bool:
    """Answer (ephemerally) and say True when the sharer or the bot cannot post there."""
    guild = interaction.guild
    member = interaction.user
    if guild is None or not isinstance(member, discord.Member):
        raise UserInputError("Stories can only be shared inside a server.")
    t = tr(interaction)
    yours, mine = share_blockers(channel, member, guild.me, t)
    text = rs.missing_text(channel.id, yours=yours, mine=mine, t=t)
    if text is None:
        return False
    await reply(interaction, text)
    return True


async def share_into(
    interaction: discord.Interaction[Any], channel: ShareTarget, story_id: int, comment: str
) -> None:
    """Share ``story_id`` into ``channel`` for whoever interacted (see the module docstring)."""
    guild_id = guild_id_of(interaction)
    if await blocked(interaction, channel):
        return
    t = tr(interaction)
    await defer(interaction)
    services = services_of(interaction)
    service = services.share_service()
    prepared = await service.prepare(
        user_id=interaction.user.id,
        guild_id=guild_id,
        channel_id=channel.id,
        story_id=story_id,
        comment=comment,
        sharer=interaction.user.display_name,
        # A brief's thread has no brief of its own: its cards are dated like its channel's.
        brief_channel_id=channel.parent_id if isinstance(channel, discord.Thread) else None,
        # A channel post: written in the server's language, like a brief (not the sharer's).
        t=guild_messages_for(interaction),
    )
    try:
        message_id = await post_message(
            interaction.client.http, channel.id, prepared.message, nonce=prepared.nonce
        )
    except BaseException as exc:
        await service.abandon(prepared.share_id)  # it never happened: no cooldown, no "already"
        if isinstance(exc, discord.Forbidden | discord.NotFound):
            reason = exc.text or str(exc.status)
            await reply(interaction, rs.not_posted_text(channel.id, reason, t))
            return
        raise
    await service.posted(prepared.share_id, message_id)
    link = ShareLink(guild_id, channel.id, message_id)
    await reply(interaction, rs.shared_text(prepared.title, channel.id, link.url, t))


class ShareModal(discord.ui.Modal):
    """The form the menu opens: one comment. Stateless beyond the story id, so its custom id
    is per story and user (discord.py finds a submitted form by custom id alone)."""

    def __init__(self, story_id: int, user_id: int, story_title: str, t: Messages) -> None:
        super().__init__(
            title=t.gettext(rs.FORM_TITLE),
            custom_id=f"tb:share:{story_id}:{user_id}",
            timeout=MODAL_TIMEOUT_S,
        )
        self.story_id = story_id
        self.comment: discord.ui.TextInput[ShareModal] = discord.ui.TextInput(
            style=discord.TextStyle.paragraph,
            custom_id="comment",
            placeholder=t.gettext(rs.FORM_PLACEHOLDER),
            min_length=1,
            max_length=MAX_COMMENT_CHARS,
        )
        self.add_item(
            discord.ui.Label(
                text=t.gettext(rs.FORM_LABEL),
                # Shown as typed by Discord (no markdown in forms): plain, cut to its limit.
                description=truncate(plain(story_title), 100),
                component=self.comment,
            )
        )

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        await share_into(interaction, target_of(interaction), self.story_id, self.comment.value)

    # discord.py's Modal.on_error itself drops BaseView's ``item``: same override here.
    async def on_error(  # type: ignore[override]
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await answer_component_error(interaction, error)


async def open_form(interaction: discord.Interaction[Any], story: rp.StoryOption) -> None:
    title = _NUMBERED.sub("", story.label)  # "2. Title" in the menu; the title in the form
    form = ShareModal(story.story_id, interaction.user.id, title, tr(interaction))
    await interaction.response.send_modal(form)


class SharePicker(OwnerView):
    """Which story of a several-story message to share (only the invoker may choose)."""

    def __init__(self, owner_id: int, options: list[rp.StoryOption], t: Messages) -> None:
        super().__init__(owner_id)
        self.options = {str(o.story_id): o for o in options}
        self.select: discord.ui.Select[SharePicker] = discord.ui.Select(
            placeholder=t.gettext(rs.PICK_PLACEHOLDER),
            options=[
                discord.SelectOption(
                    label=o.label, value=str(o.story_id), description=o.description
                )
                for o in options
            ],
        )
        self.select.callback = self.chosen  # type: ignore[method-assign]
        self.add_item(self.select)

    async def chosen(self, interaction: discord.Interaction[Any]) -> None:
        # A form answers the select itself; the cooldown was checked when the menu opened.
        await open_form(interaction, self.options[self.select.values[0]])


class Share(commands.Cog):
    def __init__(self, bot: TechbriefBot) -> None:
        self.bot = bot
        # Shares go into a server's channels: Discord offers neither entry point in DMs.
        self.menu = app_commands.guild_only(
            app_commands.ContextMenu(name="Share story", callback=self.share_message)
        )

    @property
    def service(self) -> ShareService:
        return self.bot.services.share_service()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    @app_commands.command(name="share", description="Share a story in a channel with a comment")
    @app_commands.guild_only()
    @app_commands.describe(
        story="Start typing a title and pick the story",
        comment=f"What you want to say about it (at most {MAX_COMMENT_CHARS} characters)",
        channel="Where to share it (default: this channel)",
    )
    async def share(
        self,
        interaction: discord.Interaction[TechbriefBot],
        story: str,
        comment: app_commands.Range[str, 1, MAX_COMMENT_CHARS],
        channel: discord.TextChannel | discord.Thread | None = None,
    ) -> None:
        story_id = story_id_of(story)
        await share_into(interaction, channel or target_of(interaction), story_id, comment)

    @share.autocomplete("story")
    async def story_autocomplete(
        self, interaction: discord.Interaction[TechbriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await guarded_autocomplete(
            "story",
            lambda: story_suggestions(self.bot.services, current, guild_id=interaction.guild_id),
        )

    async def share_message(
        self, interaction: discord.Interaction[TechbriefBot], message: discord.Message
    ) -> None:
        """Apps › Share story: the story (or one of the stories) in one of the bot's posts."""
        guild_id_of(interaction)
        t = tr(interaction)
        me = self.bot.user
        # Only this bot's posts: another app's buttons may reuse the id scheme by accident.
        stories = message_stories(message) if me and message.author.id == me.id else []
        if not stories:
            await reply(interaction, t.gettext(rs.NO_STORY))
            return
        if await blocked(interaction, target_of(interaction)):
            return
        # Before the form opens, so nobody writes a comment only to be told to wait.
        left = await self.service.cooldown_left(interaction.user.id)
        if left > 0:
            await reply(interaction, error_text(ShareCooldown(left), t))
            return
        if len(stories) == 1:
            await open_form(interaction, stories[0])
            return
        picker = SharePicker(interaction.user.id, stories, t)
        await interaction.response.send_message(
            t.gettext(rs.PICK_PROMPT), view=picker, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        picker.origin = interaction


async def setup(bot: TechbriefBot) -> None:
    await bot.add_cog(Share(bot))
