"""Private bookmarks in Discord: the persistent Bookmark button, the "Bookmark story" message
menu, /bookmark add|note|tag|remove|export and /bookmarks (paged list).

Everything answers ephemerally: bookmarks belong to one user and nobody else sees them. Each
handler is validate -> defer (database I/O follows) -> one BookmarkService call -> render
(bot.core.briefs.render_personal) -> reply; the service scopes every call to the acting user.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import discord
from discord import app_commands
from discord.ext import commands

from bot.core.bookmarks import AddResult
from bot.core.bookmarks.service import MAX_NOTE_CHARS, BookmarkService
from bot.core.briefs import render_personal as rp
from bot.core.briefs.render import bookmark_custom_id, parse_bookmark_custom_id
from bot.core.briefs.safetext import CHOICE_VALUE, CHOICES
from bot.core.errors import QueryError, TechbriefError, UserInputError
from bot.core.i18n import Messages
from bot.core.search.service import SearchService
from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from bot.runtime.errors import error_text
from bot.runtime.replies import NO_MENTIONS
from cogs.common import defer, reply, tr
from cogs.paginator import OwnerView, Page, Paginator, answer_component_error

log = logging.getLogger(__name__)

BOOKMARK_TEMPLATE = r"tb:bm:(?P<id>[0-9]+)"
# Autocomplete must answer within Discord's 3 s; give up on a slow database well before.
AUTOCOMPLETE_BUDGET_S = 2.0
# With an empty story field, suggest the newest stories: the search service has no "newest"
# call, but a query of only an always-true date filter ranks by date (its operators-only path).
NEWEST_STORIES_QUERY = "after:1970-01-01"
_TAG_SEPARATORS = re.compile(r"[,\s]+")


def services_of(interaction: discord.Interaction[Any]) -> Services:
    return cast(TechbriefBot, interaction.client).services


def search_service_of(services: Services) -> SearchService | None:
    """The search service, once the composition root provides one (``Services.search``).

    Read with getattr so this module type-checks and runs both before and after the
    attribute exists; without it /search says so and story autocomplete stays empty.
    """
    return cast("SearchService | None", getattr(services, "search", None))


def story_id_of(value: str) -> int:
    """The `story` option: a story id (what autocomplete puts there), "#123" accepted too."""
    text = value.strip().lstrip("#")
    if text.isascii() and text.isdigit() and len(text) <= 19:
        return int(text)
    shown = rp.plain_label(value, 80, fallback="")
    raise UserInputError(
        "“{shown}” is not a story: start typing its title and pick it from the suggestions.",
        shown=shown,
    )


async def save_story(interaction: discord.Interaction[Any], story_id: int) -> None:
    """Bookmark one story for whoever interacted, and say what happened (ephemerally).

    Only a story visible where the interaction happened (this server's feeds and the shared
    ones; in a DM the shared ones): the service checks, whichever path got here."""
    await defer(interaction)
    result = await (
        services_of(interaction)
        .bookmark_service()
        .add(interaction.user.id, story_id, guild_id=interaction.guild_id)
    )
    await reply(interaction, rp.saved_text(result, tr(interaction)))


class BookmarkButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=BOOKMARK_TEMPLATE):
    """The Bookmark button under every posted story (custom id ``tb:bm:<story id>``).

    Persistent: registered with ``bot.add_dynamic_items`` and rebuilt from the custom id on
    each click, so buttons posted before a restart (or in timed-out views) keep working.
    """

    def __init__(self, story_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label="Bookmark",
                emoji="🔖",
                custom_id=bookmark_custom_id(story_id),
            )
        )
        self.story_id = story_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> BookmarkButton:
        return cls(int(match["id"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        # Dynamic item callbacks bypass every error handler: answer errors here.
        try:
            await save_story(interaction, self.story_id)
        except Exception as exc:
            await answer_component_error(interaction, exc)


def message_stories(message: discord.Message) -> list[rp.StoryOption]:
    """The stories a message holds, from its Bookmark buttons (and embed titles)."""
    buttons: list[tuple[int, str | None]] = []
    for row in message.components:
        for child in getattr(row, "children", ()):
            story_id = parse_bookmark_custom_id(getattr(child, "custom_id", None) or "")
            if story_id is not None:
                buttons.append((story_id, getattr(child, "label", None)))
    return rp.message_story_options(buttons, [e.title for e in message.embeds])


class StoryPicker(OwnerView):
    """The ephemeral select menu for a message with several stories (only the invoker)."""

    def __init__(
        self, owner_id: int, options: Sequence[rp.StoryOption], t: Messages | None = None
    ) -> None:
        super().__init__(owner_id)
        self.select: discord.ui.Select[StoryPicker] = discord.ui.Select(
            placeholder=(t or Messages.english()).gettext("Choose stories to bookmark"),
            min_values=1,
            max_values=len(options),
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
        await interaction.response.defer()  # "update the menu's message"; I/O follows
        t = tr(interaction)
        service = services_of(interaction).bookmark_service()
        saved: list[AddResult] = []
        failed: list[str] = []
        for value in self.select.values:
            try:
                saved.append(
                    await service.add(
                        interaction.user.id, int(value), guild_id=interaction.guild_id
                    )
                )
            except TechbriefError as exc:
                reason = error_text(exc, t)
                if reason not in failed:  # e.g. the cap message once, not per story
                    failed.append(reason)
        self.stop()
        await interaction.edit_original_response(
            content=rp.saved_many_text(saved, failed, t), view=None, allowed_mentions=NO_MENTIONS
        )


def _choices(pairs: Sequence[tuple[str, str]]) -> list[app_commands.Choice[str]]:
    return [app_commands.Choice(name=name, value=value[:CHOICE_VALUE]) for name, value in pairs][
        :CHOICES
    ]


async def guarded_autocomplete(
    what: str, produce: Callable[[], Awaitable[list[app_commands.Choice[str]]]]
) -> list[app_commands.Choice[str]]:
    """Autocomplete never fails loudly: no suggestions beats Discord's "loading failed"."""
    try:
        return await asyncio.wait_for(produce(), AUTOCOMPLETE_BUDGET_S)
    except (TechbriefError, TimeoutError):
        return []
    except Exception:
        log.exception("autocomplete failed", extra={"autocomplete": what})
        return []


def _story_queries(current: str) -> list[str]:
    """What to ask the search service while the reader types: the text as typed, then
    without its last (probably half-typed) word; the newest stories for an empty field."""
    text = " ".join(current.split())
    if not text:
        return [NEWEST_STORIES_QUERY]
    queries = [text]
    head, _, _last = text.rpartition(" ")
    if head:
        queries.append(head)
    return queries


async def story_suggestions(
    services: Services, current: str, *, guild_id: int | None
) -> list[app_commands.Choice[str]]:
    """Stories to offer while the reader types: only those this server may see (its own
    custom feeds and the shared ones; a DM, the shared ones only)."""
    search = search_service_of(services)
    if search is None:
        return []  # no search service wired: the reader can still paste a story id
    now = services.clock()
    for query in _story_queries(current):
        try:
            page = await search.search(query, limit=CHOICES, now=now, guild_id=guild_id)
        except QueryError:
            continue
        if page.hits:
            return _choices([(rp.hit_choice_name(h), str(h.story_id)) for h in page.hits])
    return []


async def bookmark_suggestions(
    service: BookmarkService, user_id: int, current: str
) -> list[app_commands.Choice[str]]:
    page = await service.list(user_id, query=current.strip() or None, limit=CHOICES)
    return _choices([(rp.bookmark_choice_name(b), str(b.story_id)) for b in page.items])


async def tag_suggestions(
    service: BookmarkService, user_id: int, current: str, *, several: bool
) -> list[app_commands.Choice[str]]:
    """The user's tags, most used first. With ``several`` (the tags option of /bookmark tag)
    the last comma/space-separated piece is completed and the earlier ones kept."""
    tags = await service.tags(user_id)
    if not several:
        wanted = current.strip().lower().lstrip("#")
        return _choices([(rp.tag_choice_name(t, n), t) for t, n in tags if wanted in t])
    pieces = [p for p in _TAG_SEPARATORS.split(current) if p]
    ends_open = bool(current) and not _TAG_SEPARATORS.match(current[-1])
    done = pieces[:-1] if ends_open else pieces
    partial = pieces[-1].lower().lstrip("#") if ends_open and pieces else ""
    prefix = ", ".join(done)
    pairs = []
    for tag, _n in tags:
        if tag in done or partial not in tag:
            continue
        value = f"{prefix}, {tag}" if prefix else tag
        if len(value) <= CHOICE_VALUE:
            pairs.append((rp.plain_label(value, 100), value))
    return _choices(pairs)


class Bookmarks(commands.Cog):
    bookmark = app_commands.Group(
        name="bookmark", description="Save stories privately, with notes and tags"
    )

    def __init__(self, bot: TechbriefBot) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(name="Bookmark story", callback=self.bookmark_message)

    @property
    def service(self) -> BookmarkService:
        return self.bot.services.bookmark_service()

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)
        self.bot.remove_dynamic_items(BookmarkButton)

    # -- message context menu ------------------------------------------------------------
    async def bookmark_message(
        self, interaction: discord.Interaction[TechbriefBot], message: discord.Message
    ) -> None:
        me = self.bot.user
        # Only this bot's posts: another app's buttons may reuse the id scheme by accident.
        stories = message_stories(message) if me and message.author.id == me.id else []
        t = tr(interaction)
        if not stories:
            await reply(interaction, t.gettext(rp.NO_STORY))
            return
        if len(stories) == 1:
            await save_story(interaction, stories[0].story_id)
            return
        picker = StoryPicker(interaction.user.id, stories, t)
        await interaction.response.send_message(
            t.gettext(rp.SELECT_PROMPT), view=picker, ephemeral=True, allowed_mentions=NO_MENTIONS
        )
        picker.origin = interaction

    # -- /bookmark ... -------------------------------------------------------------------
    @bookmark.command(name="add", description="Bookmark a story (start typing its title)")
    @app_commands.describe(story="Start typing a title and pick the story")
    async def add(self, interaction: discord.Interaction[TechbriefBot], story: str) -> None:
        await save_story(interaction, story_id_of(story))

    @add.autocomplete("story")
    async def add_story_autocomplete(
        self, interaction: discord.Interaction[TechbriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        return await guarded_autocomplete(
            "story",
            lambda: story_suggestions(self.bot.services, current, guild_id=interaction.guild_id),
        )

    @bookmark.command(name="note", description="Write a private note on a bookmark")
    @app_commands.describe(
        story="One of your bookmarks (start typing its title)",
        text="The note; leave it out to remove the note",
    )
    async def note(
        self,
        interaction: discord.Interaction[TechbriefBot],
        story: str,
        text: app_commands.Range[str, 1, MAX_NOTE_CHARS] | None = None,
    ) -> None:
        story_id = story_id_of(story)
        await defer(interaction)
        item = await self.service.set_note(interaction.user.id, story_id, text)
        await reply(interaction, rp.note_text(item, tr(interaction)))

    @bookmark.command(name="tag", description="Set the tags of a bookmark")
    @app_commands.describe(
        story="One of your bookmarks (start typing its title)",
        tags="Tags separated by commas or spaces, e.g. kubernetes, cost; leave out to clear",
    )
    async def tag(
        self,
        interaction: discord.Interaction[TechbriefBot],
        story: str,
        tags: str | None = None,
    ) -> None:
        story_id = story_id_of(story)
        await defer(interaction)
        item = await self.service.set_tags(interaction.user.id, story_id, tags or "")
        await reply(interaction, rp.tags_text(item, tr(interaction)))

    @bookmark.command(name="remove", description="Remove one of your bookmarks")
    @app_commands.describe(story="One of your bookmarks (start typing its title)")
    async def remove(self, interaction: discord.Interaction[TechbriefBot], story: str) -> None:
        story_id = story_id_of(story)
        await defer(interaction)
        item = await self.service.remove(interaction.user.id, story_id)
        await reply(interaction, rp.removed_text(item, tr(interaction)))

    @note.autocomplete("story")
    @tag.autocomplete("story")
    @remove.autocomplete("story")
    async def own_story_autocomplete(
        self, interaction: discord.Interaction[TechbriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        user_id = interaction.user.id
        return await guarded_autocomplete(
            "bookmark", lambda: bookmark_suggestions(self.service, user_id, current)
        )

    @tag.autocomplete("tags")
    async def tags_autocomplete(
        self, interaction: discord.Interaction[TechbriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        user_id = interaction.user.id
        return await guarded_autocomplete(
            "tags", lambda: tag_suggestions(self.service, user_id, current, several=True)
        )

    @bookmark.command(name="export", description="Download all your bookmarks as a file")
    @app_commands.describe(format="Markdown, HTML (your browser can import it) or JSON")
    @app_commands.choices(
        format=[
            app_commands.Choice(name="Markdown", value="markdown"),
            app_commands.Choice(name="HTML (browser bookmarks import)", value="html"),
            app_commands.Choice(name="JSON", value="json"),
        ]
    )
    async def export(
        self, interaction: discord.Interaction[TechbriefBot], format: str = "markdown"
    ) -> None:
        await defer(interaction)
        filename, data = await self.service.export(interaction.user.id, format)
        await reply(
            interaction,
            rp.export_text(filename, format, tr(interaction)),
            file=discord.File(io.BytesIO(data), filename=filename),
        )

    # -- /bookmarks ----------------------------------------------------------------------
    @app_commands.command(name="bookmarks", description="Your bookmarks, newest first")
    @app_commands.describe(
        tag="Only bookmarks with this tag", query="Only bookmarks whose title or note has this"
    )
    async def bookmarks(
        self,
        interaction: discord.Interaction[TechbriefBot],
        tag: str | None = None,
        query: str | None = None,
    ) -> None:
        user_id = interaction.user.id
        service = self.service
        t = tr(interaction)

        async def fetch(index: int) -> Page:
            page = await service.list(
                user_id, tag=tag, query=query, limit=rp.PER_PAGE, offset=index * rp.PER_PAGE
            )
            return Page(
                embed=rp.bookmarks_embed(page, tag=tag, query=query, t=t),
                has_next=page.has_more,
                pages=page.pages,
            )

        await defer(interaction)
        await Paginator(user_id, fetch, t=t).start(interaction)

    @bookmarks.autocomplete("tag")
    async def tag_filter_autocomplete(
        self, interaction: discord.Interaction[TechbriefBot], current: str
    ) -> list[app_commands.Choice[str]]:
        user_id = interaction.user.id
        return await guarded_autocomplete(
            "tag", lambda: tag_suggestions(self.service, user_id, current, several=False)
        )


async def setup(bot: TechbriefBot) -> None:
    bot.add_dynamic_items(BookmarkButton)
    await bot.add_cog(Bookmarks(bot))
