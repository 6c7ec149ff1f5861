"""Views shared by the personal commands: owner-only controls and a lazy paginator.

* :class:`OwnerView` — only the person who ran the command may press its controls; errors in
  callbacks get the same ephemeral answers as command errors (component callbacks never reach
  the app-command error handler); on timeout its controls are disabled *in the message*, so a
  reader never presses a button that silently does nothing.
* :class:`Paginator` — Previous / page x/y / Next over pages fetched one at a time through an
  async callback (nothing is loaded that the reader does not look at), plus a row of Bookmark
  buttons for the stories on the current page.

Bookmark buttons carry the persistent custom id ``tb:bm:<story id>``; the dynamic item in
``cogs.bookmarks`` answers every click on such an id (also after the view timed out or the bot
restarted), so the view's own copy of the button deliberately never handles the click.

The buttons are plain ``discord.ui.Button`` rather than the dynamic item class itself:
discord.py removes a view's dynamic item *class* from its global registry when that view
stops, which would unregister the persistent Bookmark handler for every message.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import discord

from bot.core.briefs.render import bookmark_custom_id
from bot.core.briefs.render_personal import page_label
from bot.core.errors import TechbriefError
from bot.core.i18n import N_, Messages
from bot.runtime.errors import answer as send_ephemeral
from bot.runtime.errors import error_text, unexpected_text
from bot.runtime.i18n import messages_for
from bot.runtime.replies import NO_MENTIONS

log = logging.getLogger(__name__)

OWNER_ONLY = N_("Only the person who ran the command can press these.")
# Interaction tokens live 15 minutes and the timeout edit needs one: stay well inside that.
DEFAULT_TIMEOUT = 600.0


async def answer_component_error(interaction: discord.Interaction[Any], error: Exception) -> None:
    """What the app-command error handler would say, for a button or select callback."""
    t = messages_for(interaction)
    if isinstance(error, TechbriefError):
        # UserInputError, NotFoundError, QueryError...: written for the user, shown as is.
        await send_ephemeral(interaction, error_text(error, t))
        return
    error_id = uuid.uuid4().hex[:8]
    data: dict[str, Any] = dict(interaction.data or {})
    custom_id = data.get("custom_id", "?")
    log.error(
        "component callback failed",
        exc_info=error,
        extra={"error_id": error_id, "custom_id": custom_id},
    )
    await send_ephemeral(interaction, unexpected_text(error_id, t))


class BookmarkSlot(discord.ui.Button[Any]):
    """A Bookmark button inside a view; the persistent dynamic item answers its clicks."""

    def __init__(self, story_id: int, label: str, *, row: int) -> None:
        super().__init__(
            style=discord.ButtonStyle.secondary,
            label=label,
            emoji="🔖",
            custom_id=bookmark_custom_id(story_id),
            row=row,
        )
        self.story_id = story_id

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        # False: not ours to answer (two answers to one interaction would be an error), and
        # checked before the view's owner check, so nobody gets a spurious "only the owner".
        return False


class OwnerView(discord.ui.View):
    """Controls only ``owner_id`` may use, disabled in the message when they time out."""

    def __init__(self, owner_id: int, *, timeout: float | None = None) -> None:
        super().__init__(timeout=DEFAULT_TIMEOUT if timeout is None else timeout)
        self.owner_id = owner_id
        # The interaction whose original response shows this view: its token edits the
        # message on timeout (ephemeral messages can only be edited through it).
        self.origin: discord.Interaction[Any] | None = None

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        if interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                messages_for(interaction).gettext(OWNER_ONLY),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return False
        return True

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        await answer_component_error(interaction, error)

    def disable_controls(self) -> None:
        """Disable everything but Bookmark buttons (those keep working: they are persistent)."""
        for child in self.children:
            if isinstance(child, BookmarkSlot):
                continue
            if isinstance(child, discord.ui.Button | discord.ui.Select):
                child.disabled = True

    async def on_timeout(self) -> None:
        self.disable_controls()
        if self.origin is None:
            return
        try:
            await self.origin.edit_original_response(view=self, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException:
            # Dismissed by the reader, or the token expired: nothing left to disable.
            log.debug("could not disable a timed-out view", exc_info=True)


@dataclass(frozen=True, slots=True)
class Page:
    """One rendered page: an embed (Discord JSON), its stories' Bookmark buttons, and where
    it stands (``pages`` None when the total is unknown, e.g. "1,000+ results")."""

    embed: dict[str, Any]
    bookmarks: Sequence[tuple[int, str]] = ()  # (story id, button label)
    has_next: bool = False
    pages: int | None = None


PageSource = Callable[[int], Awaitable[Page]]  # 0-based page index -> page


class Paginator(OwnerView):
    """Previous / x/y / Next, fetching each page when it is asked for."""

    def __init__(
        self,
        owner_id: int,
        source: PageSource,
        *,
        timeout: float | None = None,
        t: Messages | None = None,
    ) -> None:
        super().__init__(owner_id, timeout=timeout)
        self._source = source
        if t is not None:
            self.previous_page.label = t.gettext("Previous")
            self.next_page.label = t.gettext("Next")
        self.index = 0
        self.current: Page | None = None
        self.position: discord.ui.Button[Any] = discord.ui.Button(
            label="1", disabled=True, style=discord.ButtonStyle.secondary, row=0
        )
        # Between the two decorated buttons: Previous, x/y, Next.
        self.remove_item(self.next_page)
        self.add_item(self.position)
        self.add_item(self.next_page)

    async def start(self, interaction: discord.Interaction[Any]) -> None:
        """Show the first page as the ephemeral answer to ``interaction`` (deferred or not).

        Errors of the first fetch propagate to the caller (the command's error handler).
        """
        page = await self._source(0)
        self._show(0, page)
        self.origin = interaction
        embed = discord.Embed.from_dict(page.embed)
        if interaction.response.is_done():
            await interaction.edit_original_response(
                embed=embed, view=self, allowed_mentions=NO_MENTIONS
            )
        else:
            await interaction.response.send_message(
                embed=embed, view=self, ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    def _show(self, index: int, page: Page) -> None:
        self.index = index
        self.current = page
        self.previous_page.disabled = index == 0
        self.next_page.disabled = not page.has_next
        self.position.label = page_label(index + 1, page.pages)
        for child in self.children:
            if isinstance(child, BookmarkSlot):
                self.remove_item(child)
        for n, (story_id, label) in enumerate(page.bookmarks[:20]):  # rows 1-4, 5 per row
            self.add_item(BookmarkSlot(story_id, label, row=1 + n // 5))

    async def _turn(self, interaction: discord.Interaction[Any], index: int) -> None:
        # Acknowledge first ("update this message"), then fetch: a slow database must not
        # cost the 3-second window.
        await interaction.response.defer()
        page = await self._source(max(0, index))
        self._show(max(0, index), page)
        await interaction.edit_original_response(
            embed=discord.Embed.from_dict(page.embed), view=self, allowed_mentions=NO_MENTIONS
        )

    # i18n: the labels are set per reader in __init__; these marks put them in the catalogs.
    @discord.ui.button(label=N_("Previous"), emoji="◀️", style=discord.ButtonStyle.secondary, row=0)
    async def previous_page(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]
    ) -> None:
        await self._turn(interaction, self.index - 1)

    @discord.ui.button(label=N_("Next"), emoji="▶️", style=discord.ButtonStyle.secondary, row=0)
    async def next_page(
        self, interaction: discord.Interaction[Any], _button: discord.ui.Button[Any]
    ) -> None:
        await self._turn(interaction, self.index + 1)
