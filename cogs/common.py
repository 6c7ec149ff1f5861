"""Small helpers every cog shares: ephemeral replies, embeds from core payloads, guild context."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.core.errors import UserInputError
from bot.core.i18n import N_, Messages
from bot.runtime.i18n import messages_for
from bot.runtime.replies import send_ephemeral
from cogs.paginator import OwnerView

# The reader's language for a reply: `t = tr(interaction)`, then `t.gettext("...")`.
tr = messages_for


def require_manage_server(interaction: discord.Interaction[Any]) -> bool:
    """Admin commands: default permissions can be overridden per server, so check again here.

    `interaction.permissions` is what Discord resolved for the member in that channel, which
    is reliable even without the members intent.
    """
    if interaction.guild_id is None:
        raise app_commands.NoPrivateMessage()
    if not interaction.permissions.manage_guild:
        raise app_commands.MissingPermissions(["manage_guild"])
    return True


def guild_id_of(interaction: discord.Interaction[Any]) -> int:
    if interaction.guild_id is None:
        raise UserInputError("This command only works inside a server.")
    return interaction.guild_id


# Every personal answer is ephemeral and mention-free: one implementation for all cogs.
reply = send_ephemeral


async def defer(interaction: discord.Interaction[Any]) -> None:
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)


def check_postable(
    channel: discord.abc.GuildChannel, me: discord.Member | None, t: Messages | None = None
) -> list[str]:
    """What the bot lacks to post briefs in `channel` (empty when all is well), named as the
    reader's Discord client names those permissions."""
    if me is None:
        return []
    t = t or Messages.english()
    perms = channel.permissions_for(me)
    missing = [
        t.gettext(name)
        for name, ok in (
            (N_("View Channel"), perms.view_channel),
            (N_("Send Messages"), perms.send_messages),
            (N_("Embed Links"), perms.embed_links),
        )
        if not ok
    ]
    return missing


def can_thread(channel: discord.abc.GuildChannel, me: discord.Member | None) -> bool:
    if me is None:
        return True
    perms = channel.permissions_for(me)
    return bool(perms.create_public_threads and perms.send_messages_in_threads)


class ConfirmView(OwnerView):
    """Confirm / Cancel that only the invoker can press; disabled when they time out."""

    def __init__(
        self,
        owner_id: int,
        *,
        confirm_label: str,
        timeout: float = 60,
        t: Messages | None = None,
    ) -> None:
        super().__init__(owner_id, timeout=timeout)
        self.confirmed: bool | None = None
        self.confirm.label = confirm_label
        if t is not None:
            self.cancel.label = t.gettext("Cancel")

    @discord.ui.button(label=N_("Confirm"), style=discord.ButtonStyle.danger)
    async def confirm(
        self, interaction: discord.Interaction[Any], _b: discord.ui.Button[Any]
    ) -> None:
        self.confirmed = True
        await self._finish(interaction)

    @discord.ui.button(label=N_("Cancel"), style=discord.ButtonStyle.secondary)
    async def cancel(
        self, interaction: discord.Interaction[Any], _b: discord.ui.Button[Any]
    ) -> None:
        self.confirmed = False
        await self._finish(interaction)

    async def _finish(self, interaction: discord.Interaction[Any]) -> None:
        self.disable_controls()
        await interaction.response.edit_message(view=self)
        self.stop()
