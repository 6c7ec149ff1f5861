"""Private bookmarks: save stories, annotate them with notes and tags, list, export.

Bookmarks belong to a user across guilds and are never visible to anyone else. Every method
takes the acting user's id and the repository filters on it in SQL, so "not yours" and "does
not exist" are the same answer (``NotFoundError``: not in your bookmarks) and a user cannot
learn anything about another's bookmarks by probing story ids.

Saving is limited to stories the place asking may see (``add``'s ``guild_id``: that server's
custom feeds and the shared ones; a DM, the shared ones only), by the same rule as search. A
story only another server's custom feed carries is "no such story", worded exactly like a
missing one, so probing ids learns nothing about other servers' feeds. Bookmarks already saved
stay listable: they are the user's own.

Messages of ``UserInputError``/``NotFoundError`` are shown to the person verbatim, so they say
what was wrong and what to do.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.core.bookmarks import export as exporters
from bot.core.bookmarks.types import AddResult, BookmarkPage, SavedBookmark
from bot.core.errors import NotFoundError, UserInputError
from bot.storage import bookmarks_repo as repo

__all__ = [
    "EXPORT_FORMATS",
    "MAX_NOTE_CHARS",
    "MAX_PAGE_SIZE",
    "MAX_QUERY_CHARS",
    "MAX_TAGS",
    "MAX_TAG_CHARS",
    "AddResult",
    "BookmarkPage",
    "BookmarkService",
    "SavedBookmark",
    "clean_note",
    "normalize_tag",
    "parse_tags",
]

MAX_NOTE_CHARS = 1000
MAX_TAGS = 10
MAX_TAG_CHARS = 30
MAX_QUERY_CHARS = 200
MAX_PAGE_SIZE = 100

# format name as typed (aliases included) -> file extension, which also picks the renderer.
EXPORT_FORMATS: dict[str, str] = {
    "markdown": "md",
    "md": "md",
    "html": "html",
    "netscape": "html",
    "json": "json",
}

_TAG_SPLIT = re.compile(r"[,\s]+")
# Letters and digits of any script (Korean and Japanese tags are expected), plus the
# punctuation real tech tags use: c++, c#, .net, ci-cd, machine_learning.
_TAG_OK = re.compile(r"^[\w+#.-]+$")
_NOTE_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _utcnow() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------- validation


def normalize_tag(raw: str) -> str:
    """One tag as stored: NFKC (full-width letters become plain), lower-case, no leading '#'.

    Raises ``UserInputError`` for a tag that is too long or has characters a tag cannot have
    (commas and spaces separate tags; quotes and brackets would only make exports fragile).
    """
    tag = unicodedata.normalize("NFKC", raw).strip().lower().lstrip("#")
    if not tag:
        raise UserInputError("A tag cannot be empty.")
    if len(tag) > MAX_TAG_CHARS:
        raise UserInputError(
            "The tag “{tag}…” is too long: tags can have at most {max} characters.",
            tag=tag[:MAX_TAG_CHARS],
            max=MAX_TAG_CHARS,
        )
    if not _TAG_OK.match(tag):
        raise UserInputError(
            "The tag “{tag}” has characters tags cannot use: use letters, digits and "
            "- _ . + # only, and separate tags with commas or spaces.",
            tag=tag,
        )
    return tag


def parse_tags(raw: str | Iterable[str]) -> tuple[str, ...]:
    """``"Kubernetes, cost  #SRE"`` -> ``("kubernetes", "cost", "sre")``.

    Comma- or space-separated, lower-cased, de-duplicated keeping first-seen order; an empty
    input means "no tags". At most ``MAX_TAGS`` distinct tags.
    """
    parts = [raw] if isinstance(raw, str) else list(raw)
    tags: dict[str, None] = {}  # an ordered set
    for part in parts:
        for piece in _TAG_SPLIT.split(part):
            # A lone "#" is a stray hashtag marker, not a tag.
            if piece.strip().lstrip("#"):
                tags[normalize_tag(piece)] = None
    if len(tags) > MAX_TAGS:
        raise UserInputError(
            "A bookmark can have at most {max} tags; you gave {count}. "
            "Keep the ones you will filter by.",
            max=MAX_TAGS,
            count=len(tags),
        )
    return tuple(tags)


def clean_note(text: str | None) -> str | None:
    """A note as stored: control characters dropped, trimmed; empty means no note."""
    if text is None:
        return None
    note = _NOTE_CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if len(note) > MAX_NOTE_CHARS:
        raise UserInputError(
            "Notes can have at most {max:,} characters; yours has {count:,}. "
            "Shorten it and try again.",
            max=MAX_NOTE_CHARS,
            count=len(note),
        )
    return note or None


def _clean_query(query: str | None) -> str | None:
    if query is None:
        return None
    # NUL cannot be sent to PostgreSQL at all; other controls never match a title.
    text = _NOTE_CONTROL.sub("", query).strip()
    if len(text) > MAX_QUERY_CHARS:
        raise UserInputError(
            "Search text can have at most {max} characters; yours has {count}.",
            max=MAX_QUERY_CHARS,
            count=len(text),
        )
    return text or None


# Story ids are 64-bit; anything outside that range (a typo, a pasted snowflake with extra
# digits) cannot exist and would make the database driver fail on the bind instead.
_MAX_ID = 2**63 - 1


def _not_yours(story_id: int) -> NotFoundError:
    return NotFoundError("Story {id} is not in your bookmarks.", id=story_id)


def _no_story(story_id: int) -> NotFoundError:
    return NotFoundError(
        "There is no story {id}; it may have been removed from the archive.", id=story_id
    )


def _valid_id(story_id: int) -> bool:
    return 0 < story_id <= _MAX_ID


# ---------------------------------------------------------------------------- service


class BookmarkService:
    """Bookmarks of every user; each call is one transaction scoped to one user."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        per_user_cap: int = 5000,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if per_user_cap < 1:
            raise ValueError("per_user_cap must be at least 1")
        self._sessions = sessions
        self._cap = per_user_cap
        self._clock = clock

    @property
    def per_user_cap(self) -> int:
        return self._cap

    async def add(self, user_id: int, story_id: int, *, guild_id: int | None) -> AddResult:
        """Save ``story_id`` for ``user_id``, asked from server ``guild_id`` (None: a DM).

        Raises ``NotFoundError`` ("There is no story N") when the story does not exist or is
        not visible there, i.e. only another server's custom feeds carry it: one answer for
        both, so that existence does not leak. Every path (command, button, message menu)
        passes the place it was used in; no path is trusted to have checked already.
        """
        if not _valid_id(story_id):
            raise _no_story(story_id)
        try:
            async with self._sessions() as session, session.begin():
                if not await repo.story_visible(session, story_id, guild_id=guild_id):
                    raise _no_story(story_id)
                await repo.lock_user(session, user_id)
                created = await repo.insert_bookmark(
                    session, user_id=user_id, story_id=story_id, now=self._clock()
                )
                # Counted after the insert, inside the same transaction (and under the user
                # lock on PostgreSQL), so two concurrent adds cannot both slip under the cap;
                # raising here rolls the insert back.
                count = await repo.count_for_user(session, user_id)
                if created and count > self._cap:
                    raise UserInputError(
                        "You have reached the limit of {cap:,} bookmarks. Remove ones "
                        "you no longer need (export them first to keep a copy) to make room "
                        "for new ones.",
                        cap=self._cap,
                    )
                view = await repo.fetch(session, user_id, story_id)
        except IntegrityError:
            # The only constraint an add can break is the story foreign key: the story does
            # not exist (or was pruned a moment ago). Anything else is a real bug: re-raise.
            async with self._sessions() as session:
                if await repo.story_exists(session, story_id):
                    raise
            raise _no_story(story_id) from None
        if view is None:  # cannot happen: inserted or already there, in this transaction
            raise _not_yours(story_id)
        return AddResult(created=created, bookmark=view, count=count, cap=self._cap)

    async def remove(self, user_id: int, story_id: int) -> SavedBookmark:
        """Remove the bookmark and return what it was (for a confirmation with the title)."""
        if not _valid_id(story_id):
            raise _not_yours(story_id)
        async with self._sessions() as session, session.begin():
            view = await repo.fetch(session, user_id, story_id)
            if view is None or not await repo.delete_bookmark(session, user_id, story_id):
                raise _not_yours(story_id)
        return view

    async def get(self, user_id: int, story_id: int) -> SavedBookmark:
        if not _valid_id(story_id):
            raise _not_yours(story_id)
        async with self._sessions() as session:
            view = await repo.fetch(session, user_id, story_id)
        if view is None:
            raise _not_yours(story_id)
        return view

    async def set_note(self, user_id: int, story_id: int, text: str | None) -> SavedBookmark:
        """Replace the note; empty (or only whitespace) removes it."""
        note = clean_note(text)  # validate before touching the database
        if not _valid_id(story_id):
            raise _not_yours(story_id)
        async with self._sessions() as session, session.begin():
            if not await repo.update_note(session, user_id, story_id, note):
                raise _not_yours(story_id)
            view = await repo.fetch(session, user_id, story_id)
        if view is None:  # cannot happen: the row was just updated in this transaction
            raise _not_yours(story_id)
        return view

    async def set_tags(
        self, user_id: int, story_id: int, tags: str | Iterable[str]
    ) -> SavedBookmark:
        """Replace the tags with ``tags`` ("a, b c" or a list); empty removes them all."""
        wanted = parse_tags(tags)
        if not _valid_id(story_id):
            raise _not_yours(story_id)
        async with self._sessions() as session, session.begin():
            bookmark_id = await repo.bookmark_id(session, user_id, story_id, for_update=True)
            if bookmark_id is None:
                raise _not_yours(story_id)
            await repo.replace_tags(session, bookmark_id, wanted)
            view = await repo.fetch(session, user_id, story_id)
        if view is None:  # cannot happen: the row was just updated in this transaction
            raise _not_yours(story_id)
        return view

    async def tags(self, user_id: int) -> list[tuple[str, int]]:
        """The user's tags and how often each is used, most used first (for autocomplete)."""
        async with self._sessions() as session:
            return await repo.tag_counts(session, user_id)

    async def export(self, user_id: int, fmt: str) -> tuple[str, bytes]:
        """``(filename, UTF-8 bytes)`` of all the user's bookmarks, newest first.

        ``fmt``: ``markdown`` (``md``), ``html`` (``netscape``: the file browsers import) or
        ``json``. A user without bookmarks gets a valid, empty file.
        """
        kind = EXPORT_FORMATS.get(fmt.strip().lower())
        if kind is None:
            raise UserInputError(
                "Unknown export format “{fmt}”: choose markdown, html (browser bookmarks) or json.",
                fmt=fmt,
            )
        async with self._sessions() as session:
            # No limit: the per-user cap bounds the size (5,000 bookmarks is about 2 MB).
            items, _ = await repo.page(session, user_id, tag=None, query=None, limit=None, offset=0)
        now = self._clock()
        if kind == "md":
            text = exporters.to_markdown(items, exported_at=now)
        elif kind == "html":
            text = exporters.to_netscape_html(items, exported_at=now)
        else:
            text = exporters.to_json(items)
        return f"techbrief-bookmarks-{now.astimezone(UTC):%Y-%m-%d}.{kind}", text.encode("utf-8")

    # Defined last: inside this class body the name ``list`` is this method, not the builtin.
    async def list(
        self,
        user_id: int,
        *,
        tag: str | None = None,
        query: str | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> BookmarkPage:
        """The user's bookmarks, newest first, optionally with one tag and/or containing
        ``query`` (case-insensitive) in the title or note; ``total`` counts all matches."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
        if offset < 0:
            raise ValueError("offset must not be negative")
        wanted_tag = normalize_tag(tag) if tag is not None and tag.strip() else None
        text = _clean_query(query)
        async with self._sessions() as session:
            items, total = await repo.page(
                session, user_id, tag=wanted_tag, query=text, limit=limit, offset=offset
            )
        return BookmarkPage(items=tuple(items), total=total, limit=limit, offset=offset)
