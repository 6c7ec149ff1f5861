"""SQL for private bookmarks (the only place that queries ``bookmarks``/``bookmark_tags``).

Every read and write takes the owner's ``user_id`` and filters on it in SQL: there is no query
here that can reach a bookmark by story or bookmark id alone, which is what keeps bookmarks
private. The caller owns the transaction (one ``AsyncSession.begin()`` per service call).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.bookmarks import SavedBookmark
from bot.storage.feed_links import visible_feed
from bot.storage.models import Bookmark, BookmarkTag, Feed, Story, StoryKey

# Namespace (first key) of the PostgreSQL advisory locks taken per user; other modules that use
# advisory locks pick other namespaces, so the two-key form never collides with them.
_USER_LOCK_NAMESPACE = 0x626B  # "bk"
_LIKE_ESCAPE = "/"


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def lock_user(session: AsyncSession, user_id: int) -> None:
    """Serialise one user's bookmark writes for the rest of the transaction.

    Needed for the per-user cap on PostgreSQL: under READ COMMITTED two concurrent adds would
    each count N-1 bookmarks and both insert. SQLite needs nothing: it has one writer at a time
    and the caller inserts before it counts, so the count already runs under the write lock.
    """
    if _dialect(session) == "postgresql":
        await session.execute(
            select(
                func.pg_advisory_xact_lock(
                    literal(_USER_LOCK_NAMESPACE), func.hashtext(literal(str(user_id)))
                )
            )
        )


async def insert_bookmark(
    session: AsyncSession, *, user_id: int, story_id: int, now: datetime
) -> bool:
    """Insert the bookmark; False when the user already had it.

    ON CONFLICT DO NOTHING rather than select-then-insert: a double click on the Bookmark
    button (two interactions at once) must not surface as an IntegrityError. A story that does
    not exist still raises ``IntegrityError`` (the foreign key), which the caller maps.
    """
    values = {"user_id": user_id, "story_id": story_id, "created_at": now, "note": None}
    stmt = (
        pg_insert(Bookmark)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "story_id"])
        if _dialect(session) == "postgresql"
        else sqlite_insert(Bookmark)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["user_id", "story_id"])
    )
    result = await session.execute(stmt.returning(Bookmark.id))
    return result.scalar_one_or_none() is not None


async def story_exists(session: AsyncSession, story_id: int) -> bool:
    found = await session.execute(select(literal(1)).where(Story.id == story_id))
    return found.scalar_one_or_none() is not None


async def story_visible(session: AsyncSession, story_id: int, *, guild_id: int | None) -> bool:
    """Whether the story exists and the audience may see it: some feed linked to it in
    ``story_keys`` is shared (catalog, OPML) or one ``guild_id`` follows; a DM (``guild_id``
    None) sees the shared feeds only. The same rule as search and briefs."""
    found = await session.execute(
        select(literal(1)).where(
            exists().where(
                StoryKey.story_id == story_id, StoryKey.feed_id == Feed.id, visible_feed(guild_id)
            )
        )
    )
    return found.scalar_one_or_none() is not None


async def count_for_user(session: AsyncSession, user_id: int) -> int:
    counted = await session.execute(
        select(func.count()).select_from(Bookmark).where(Bookmark.user_id == user_id)
    )
    return int(counted.scalar_one())


async def bookmark_id(
    session: AsyncSession, user_id: int, story_id: int, *, for_update: bool = False
) -> int | None:
    stmt = select(Bookmark.id).where(Bookmark.user_id == user_id, Bookmark.story_id == story_id)
    if for_update:
        # PostgreSQL: concurrent tag edits of one bookmark queue here instead of colliding on
        # bookmark_tags' primary key. SQLite ignores it (its writes are serialised anyway).
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_bookmark(session: AsyncSession, user_id: int, story_id: int) -> bool:
    # bookmark_tags go with it (ON DELETE CASCADE on bookmark_tags.bookmark_id).
    result = await session.execute(
        delete(Bookmark)
        .where(Bookmark.user_id == user_id, Bookmark.story_id == story_id)
        .returning(Bookmark.id)
    )
    return result.scalar_one_or_none() is not None


async def update_note(session: AsyncSession, user_id: int, story_id: int, note: str | None) -> bool:
    result = await session.execute(
        update(Bookmark)
        .where(Bookmark.user_id == user_id, Bookmark.story_id == story_id)
        .values(note=note)
        .returning(Bookmark.id)
    )
    return result.scalar_one_or_none() is not None


async def replace_tags(session: AsyncSession, bookmark_id: int, tags: Sequence[str]) -> None:
    """Set a bookmark's tags to exactly ``tags`` (already validated and de-duplicated)."""
    await session.execute(delete(BookmarkTag).where(BookmarkTag.bookmark_id == bookmark_id))
    if tags:
        await session.execute(
            insert(BookmarkTag),
            [{"bookmark_id": bookmark_id, "tag": tag} for tag in tags],
        )


def _view_query() -> Select[*tuple[Any, ...]]:
    # Outer join on feeds: a bookmark stays readable whatever happens to its source's row.
    return (
        select(
            Bookmark.id,
            Bookmark.story_id,
            Bookmark.note,
            Bookmark.created_at,
            Story.title,
            Story.url,
            Story.canonical_url,
            Story.published_at,
            Feed.title,
            Feed.key,
        )
        .join(Story, Story.id == Bookmark.story_id)
        .outerjoin(Feed, Feed.id == Story.feed_id)
    )


def _escape_like(text: str) -> str:
    return (
        text.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2)
        .replace("%", _LIKE_ESCAPE + "%")
        .replace("_", _LIKE_ESCAPE + "_")
    )


def _filters(user_id: int, tag: str | None, query: str | None) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Bookmark.user_id == user_id]
    if tag is not None:
        conditions.append(
            exists().where(BookmarkTag.bookmark_id == Bookmark.id, BookmarkTag.tag == tag)
        )
    if query:
        # lower() on BOTH sides, in SQL, so the pattern is folded exactly like the column:
        # PostgreSQL folds all of Unicode, SQLite only ASCII; folding the pattern in Python
        # instead would make "Über" fail to find "Über" on SQLite.
        pattern = func.lower(literal(f"%{_escape_like(query)}%"))
        conditions.append(
            func.lower(Story.title).like(pattern, escape=_LIKE_ESCAPE)
            | func.lower(func.coalesce(Bookmark.note, "")).like(pattern, escape=_LIKE_ESCAPE)
        )
    return conditions


async def _with_tags(
    session: AsyncSession,
    rows: Sequence[Row[*tuple[Any, ...]]],
) -> list[SavedBookmark]:
    ids = [row[0] for row in rows]
    tags: dict[int, list[str]] = {bid: [] for bid in ids}
    # Chunked: SQLite limits bound parameters per statement and an export holds up to the cap.
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        found = await session.execute(
            select(BookmarkTag.bookmark_id, BookmarkTag.tag)
            .where(BookmarkTag.bookmark_id.in_(chunk))
            .order_by(BookmarkTag.bookmark_id, BookmarkTag.tag)
        )
        for bid, tag in found:
            tags[bid].append(tag)
    views = []
    for row in rows:
        bid, story_id, note, created, title, url, canonical, published, feed_title, feed_key = row
        views.append(
            SavedBookmark(
                story_id=story_id,
                title=title,
                url=url or canonical,
                source=feed_title or feed_key or "",
                source_key=feed_key,
                published_at=published,
                bookmarked_at=created,
                tags=tuple(tags[bid]),
                note=note,
            )
        )
    return views


async def fetch(session: AsyncSession, user_id: int, story_id: int) -> SavedBookmark | None:
    rows = (
        await session.execute(
            _view_query().where(Bookmark.user_id == user_id, Bookmark.story_id == story_id)
        )
    ).all()
    views = await _with_tags(session, rows)
    return views[0] if views else None


async def page(
    session: AsyncSession,
    user_id: int,
    *,
    tag: str | None,
    query: str | None,
    limit: int | None,
    offset: int,
) -> tuple[list[SavedBookmark], int]:
    """One page of a user's bookmarks, newest first, and how many match in all."""
    conditions = _filters(user_id, tag, query)
    total = (
        await session.execute(
            select(func.count())
            .select_from(Bookmark)
            .join(Story, Story.id == Bookmark.story_id)
            .where(and_(*conditions))
        )
    ).scalar_one()
    stmt = (
        _view_query()
        .where(and_(*conditions))
        # id breaks ties: two bookmarks in the same microsecond still page deterministically.
        .order_by(Bookmark.created_at.desc(), Bookmark.id.desc())
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = (await session.execute(stmt)).all()
    views = await _with_tags(session, rows)
    return views, int(total)


async def tag_counts(session: AsyncSession, user_id: int) -> list[tuple[str, int]]:
    """The user's tags with how many bookmarks carry each, most used first."""
    used = func.count().label("used")
    rows = await session.execute(
        select(BookmarkTag.tag, used)
        .join(Bookmark, Bookmark.id == BookmarkTag.bookmark_id)
        .where(Bookmark.user_id == user_id)
        .group_by(BookmarkTag.tag)
        .order_by(used.desc(), BookmarkTag.tag)
    )
    return [(tag, int(n)) for tag, n in rows]


async def prunable_story_ids(
    session: AsyncSession, *, seen_before: datetime, limit: int = 1000
) -> list[int]:
    """Stories stored before ``seen_before`` that nobody has bookmarked (safe to prune).

    Retention should delete only these: the foreign key (ON DELETE RESTRICT) would refuse to
    delete a bookmarked story anyway, but a failed batch delete would stop the whole prune.
    Uses first_seen_at, not published_at, because publish dates lie.
    """
    rows = await session.execute(
        select(Story.id)
        .where(
            Story.first_seen_at < seen_before,
            ~exists().where(Bookmark.story_id == Story.id),
        )
        .order_by(Story.id)
        .limit(limit)
    )
    return list(rows.scalars())
