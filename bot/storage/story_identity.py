"""Which stored story each item of a fetched document is (invariant 1): the planning half of
storing stories, with the SQL of its two lookups.

Per document (or per batch of documents of different feeds), with two lookups:

1. every candidate key of the document's items in ``story_keys`` for this feed, joined to the
   story's content hash. An item's own key comes first, then the guid, link and hash keys that
   another document of the feed may have given it (which kinds are usable is decided per
   document, so keys can flip between fetches); a candidate two items of this document share
   identifies neither and is not used. A known item is unchanged, or updated in place when its
   hash changed (never a new row, so never re-announced: watermarks are ids); a tombstone
   (story_id NULL) is left alone forever. An item known only by another of its keys gets its
   own key as one more row for the same story, or tombstone;
2. the canonical URLs of the unknown items, and the new canonical URLs of updated stories, in
   ``stories``: a hit is the same story reached through another feed (or a re-keyed item),
   linked with one more ``story_keys`` row; an update whose new canonical URL belongs to
   another story keeps its old one;
3. everything else is new. :func:`plan_documents` returns a :class:`Plan` per document; the
   writing half (``stories_repo``) turns plans into rows.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.ingest.normalize import SearchText, candidate_keys, search_text_for
from bot.core.models import NormalizedStory
from bot.storage.models import Story, StoryKey

log = logging.getLogger(__name__)

_CHUNK = 500  # bound parameters per IN (...): well under SQLite's and asyncpg's limits
_URL_MAX = 2048
_T = TypeVar("_T")
_NOT_JSON_SAFE = re.compile("[\x00\ud800-\udfff]")

NEW, UPDATED, UNCHANGED, LINKED = "new", "updated", "unchanged", "linked"


_KNOWN_COLUMNS = """
    SELECT k.feed_id, k."key", k.story_id, s.content_hash, s.feed_id, s.canonical_url
"""
_KNOWN_SQLITE = text(
    _KNOWN_COLUMNS
    + """
    FROM json_each(:wanted) AS w
    JOIN story_keys AS k
      ON k.feed_id = json_extract(w.value, '$[0]') AND k."key" = json_extract(w.value, '$[1]')
    LEFT JOIN stories AS s ON s.id = k.story_id
    """
)
_KNOWN_POSTGRES = text(
    _KNOWN_COLUMNS
    + """
    FROM unnest(CAST(:feed_ids AS BIGINT[]), CAST(:keys AS TEXT[])) AS w(feed_id, "key")
    JOIN story_keys AS k ON k.feed_id = w.feed_id AND k."key" = w."key"
    LEFT JOIN stories AS s ON s.id = k.story_id
    """
)


@dataclass(frozen=True, slots=True)
class Document:
    """One fetched document of one feed, as ``store_many`` takes it."""

    feed_id: int
    stories: Sequence[NormalizedStory]
    now: datetime
    # Search text per story (parallel to ``stories``), e.g. from the parser workers.
    search: Sequence[SearchText] | None = None
    # The feed's first successful fetch: new stories are archived, never announced.
    backfill: bool = False


# eq=False: items are hashed by identity, so the ids they are given can be keyed by item.
@dataclass(slots=True, eq=False)
class Item:
    """What storing one item of a document writes."""

    index: int  # position in the document (and in the search texts)
    story: NormalizedStory
    outcome: str  # NEW | UPDATED | UNCHANGED | LINKED
    target: int | None = None  # the existing story it is (None: inserted here, or a tombstone)
    joins: Item | None = None  # or: the NEW item (of this batch) that inserts its story
    add_key: bool = False  # a story_keys row for story.key (NEW items always get one)
    canonical: str | None = None  # UPDATED: the canonical URL to write
    previous: str | None = None  # UPDATED: the canonical URL the story had


@dataclass(eq=False)
class Plan:
    doc: Document
    texts: list[SearchText]
    items: list[Item] = field(default_factory=list)  # the items that write something
    unchanged: int = 0  # known items with nothing to write
    updating: set[int] = field(default_factory=set)  # one update per story, the first item's


class _Known(NamedTuple):  # a NamedTuple: one per known key on every store, cheap to build
    story_id: int | None  # None: a tombstone
    digest: str | None
    owner: int | None
    canonical: str | None


class _Holder(NamedTuple):
    """The story holding a canonical URL: stored, or to be inserted by an earlier document of
    the same batch (``item``)."""

    story_id: int | None
    digest: str | None
    owner: int
    item: Item | None = None


def chunks(items: Sequence[_T], size: int = _CHUNK) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def fit_url(value: str | None) -> str | None:
    # Longer URLs do not fit the column; a cut canonical URL would merge different stories.
    return value if value and len(value) <= _URL_MAX else None


def oldest_first(items: list[Item]) -> list[Item]:
    # Oldest first, so ids follow publication within one document; documents list newest
    # first, so among equal dates the later position is the older item.
    return sorted(items, key=lambda it: (it.story.published_at, -it.index))


def new_items(plan: Plan) -> list[Item]:
    return oldest_first([it for it in plan.items if it.outcome == NEW])


def _key_target(item: Item, id_of: dict[Item, int]) -> int | None:
    if item.outcome == NEW:
        return id_of[item]
    if item.joins is not None:
        return id_of[item.joins]
    return item.target


def key_row(plan: Plan, item: Item, id_of: dict[Item, int]) -> dict[str, Any]:
    return {
        "feed_id": plan.doc.feed_id,
        "key": item.story.key,
        "story_id": _key_target(item, id_of),
        "first_seen_at": plan.doc.now,
    }


def search_texts(doc: Document) -> list[SearchText]:
    if doc.search is None:
        return [search_text_for(s) for s in doc.stories]
    if len(doc.search) != len(doc.stories):
        raise ValueError("search must be parallel to stories")
    return list(doc.search)


def _publish(plan: Plan, holders: dict[str, _Holder]) -> None:
    """What a planned document does to canonical URLs, for the documents planned after it:
    the URLs its new stories take, and those its updates give up or move to."""
    owner = plan.doc.feed_id
    for it in plan.items:
        if it.outcome == NEW:
            url = fit_url(it.story.canonical_url)
            if url is not None:
                holders[url] = _Holder(None, it.story.content_hash, owner, it)
        elif it.outcome == UPDATED:
            if it.previous is not None and it.previous != it.canonical:
                holders.pop(it.previous, None)
            if it.canonical is not None:
                holders[it.canonical] = _Holder(it.target, it.story.content_hash, owner)


async def plan_documents(s: AsyncSession, docs: Sequence[Document]) -> list[Plan]:
    """Plans for documents of distinct feeds: two lookups for all of them, then each
    document planned in order against what the ones before it will have written."""
    plans: list[Plan] = []
    wanted: list[list[tuple[int, NormalizedStory, tuple[str, ...]]]] = []
    for doc in docs:
        plan = Plan(doc, search_texts(doc))
        plans.append(plan)
        wanted.append(_wanted(plan))

    pairs = [
        (plan.doc.feed_id, key)
        for plan, doc_wanted in zip(plans, wanted, strict=True)
        for _, _, keys in doc_wanted
        for key in keys
    ]
    known = await _known(s, pairs)
    fresh: list[list[tuple[int, NormalizedStory]]] = []
    moves: list[list[Item]] = []
    for plan, doc_wanted in zip(plans, wanted, strict=True):
        doc_fresh, doc_moves = _by_key(plan, doc_wanted, known)
        fresh.append(doc_fresh)
        moves.append(doc_moves)

    urls = {u for doc_fresh in fresh for _, st in doc_fresh if (u := fit_url(st.canonical_url))}
    urls.update(
        u for doc_moves in moves for it in doc_moves if (u := fit_url(it.story.canonical_url))
    )
    holders = await _holders(s, urls)
    for plan, doc_fresh, doc_moves in zip(plans, fresh, moves, strict=True):
        _by_url(plan, doc_fresh, doc_moves, holders)
        _publish(plan, holders)
    return plans


def _wanted(plan: Plan) -> list[tuple[int, NormalizedStory, tuple[str, ...]]]:
    """The items to look up, each with its candidate keys (a repeated key: first item)."""
    feed_id = plan.doc.feed_id
    candidates = [candidate_keys(st) for st in plan.doc.stories]
    # A candidate two items share identifies neither (a guid repeated in the document).
    # candidate_keys lists each key of one item once.
    shared = Counter(key for keys in candidates for key in keys)
    wanted: list[tuple[int, NormalizedStory, tuple[str, ...]]] = []
    taken: set[str] = set()
    for index, (story, keys) in enumerate(zip(plan.doc.stories, candidates, strict=True)):
        if story.key in taken:
            # story_keys holds one row per (feed, key): the first item keeps the key.
            log.info(
                "story key repeated in one document; keeping the first",
                extra={"feed": feed_id, "key": story.key[:200]},
            )
            plan.unchanged += 1
            continue
        taken.add(story.key)
        if len(keys) > 1:
            keys = (keys[0], *[k for k in keys[1:] if shared[k] == 1])
        wanted.append((index, story, keys))
    return wanted


async def _known(s: AsyncSession, pairs: list[tuple[int, str]]) -> dict[tuple[int, str], _Known]:
    """``story_keys`` rows (with their story's hash, owner and URL) for (feed, key) pairs.

    The pairs travel as one parameter (a JSON array on SQLite, two arrays on PostgreSQL)
    joined to the primary key, so both backends look each pair up in the index. Not
    ``feed_id IN (..) AND key IN (..)``: that probes every feed with every key. Not a
    VALUES list either: SQLAlchemy builds and compiles a bound parameter per value, which
    cost more than the rest of planning a batch."""
    known: dict[tuple[int, str], _Known] = {}
    unique = list(dict.fromkeys(pairs))
    if s.get_bind().dialect.name == "sqlite":
        # SQLite's JSON cuts a string at NUL and mangles lone surrogates, so keys holding
        # either (normalize never makes one; other callers might) are asked for as they are.
        odd = [pair for pair in unique if _NOT_JSON_SAFE.search(pair[1])]
        for fid, key in odd:
            row = (
                await s.execute(
                    select(
                        StoryKey.story_id,
                        Story.content_hash,
                        Story.feed_id,
                        Story.canonical_url,
                    )
                    .outerjoin(Story, Story.id == StoryKey.story_id)
                    .where(StoryKey.feed_id == fid, StoryKey.key == key)
                )
            ).first()
            if row is not None:
                known[(fid, key)] = _Known(*row)
        unique = [pair for pair in unique if not _NOT_JSON_SAFE.search(pair[1])]
    for part in chunks(unique):
        if s.get_bind().dialect.name == "sqlite":
            params: dict[str, Any] = {"wanted": json.dumps(part)}
            statement = _KNOWN_SQLITE
        else:
            params = {"feed_ids": [f for f, _ in part], "keys": [k for _, k in part]}
            statement = _KNOWN_POSTGRES
        rows = await s.execute(statement, params)
        for fid, key, sid, digest, owner, canonical in rows.all():
            known[(fid, key)] = _Known(sid, digest, owner, canonical)
    return known


def _by_key(
    plan: Plan,
    wanted: list[tuple[int, NormalizedStory, tuple[str, ...]]],
    known: dict[tuple[int, str], _Known],
) -> tuple[list[tuple[int, NormalizedStory]], list[Item]]:
    """Items known by one of their keys; returns the unknown ones and the updates whose
    canonical URL changes (both settled by URL next)."""
    feed_id = plan.doc.feed_id
    moves: list[Item] = []
    fresh: list[tuple[int, NormalizedStory]] = []
    for index, story, looked_up in wanted:
        hit = story.key if (feed_id, story.key) in known else None
        if hit is None:
            hit = next((key for key in looked_up[1:] if (feed_id, key) in known), None)
        if hit is None:
            fresh.append((index, story))
            continue
        found = known[(feed_id, hit)]
        other_key = hit != story.key  # known by a key another document gave it
        sid = found.story_id
        if (
            sid is not None
            and found.owner == feed_id
            and found.digest != story.content_hash
            and sid not in plan.updating
        ):
            plan.updating.add(sid)
            item = Item(
                index,
                story,
                UPDATED,
                target=sid,
                add_key=other_key,
                canonical=found.canonical,
                previous=found.canonical,
            )
            plan.items.append(item)
            if fit_url(story.canonical_url) not in (None, found.canonical):
                moves.append(item)
            else:
                item.canonical = fit_url(story.canonical_url)
        elif other_key:
            # Tombstones stay tombstones; another feed's story is that feed's to update.
            plan.items.append(Item(index, story, UNCHANGED, target=sid, add_key=True))
        else:
            plan.unchanged += 1
    return fresh, moves


async def _holders(s: AsyncSession, urls: set[str]) -> dict[str, _Holder]:
    holders: dict[str, _Holder] = {}
    for part in chunks(sorted(urls)):
        rows = await s.execute(
            select(Story.canonical_url, Story.id, Story.content_hash, Story.feed_id).where(
                Story.canonical_url.in_(part)
            )
        )
        for hit_url, hit_id, hit_digest, hit_owner in rows.all():
            if hit_url is not None and hit_id is not None:
                holders[hit_url] = _Holder(hit_id, hit_digest, hit_owner)
    return holders


def _by_url(
    plan: Plan,
    fresh: list[tuple[int, NormalizedStory]],
    moves: list[Item],
    holders: dict[str, _Holder],
) -> None:
    feed_id = plan.doc.feed_id
    claimed: dict[str, Item] = {}  # canonical URL -> the item that gives a story it
    for item in moves:
        url = fit_url(item.story.canonical_url)
        assert url is not None
        holder = holders.get(url)
        if (holder is not None and holder.story_id != item.target) or url in claimed:
            # The unique canonical URL is another story's: keep the old one.
            log.info(
                "updated story keeps its canonical URL: the new one is another story's",
                extra={"feed": feed_id, "story": item.target, "url": url[:300]},
            )
            continue
        item.canonical = url
        claimed[url] = item
    for index, story in fresh:
        url = fit_url(story.canonical_url)
        holder = holders.get(url) if url is not None else None
        if holder is not None:
            if holder.owner != feed_id:
                plan.items.append(
                    Item(
                        index,
                        story,
                        LINKED,
                        target=holder.story_id,
                        joins=holder.item,
                        add_key=True,
                    )
                )
            elif holder.digest != story.content_hash and holder.story_id not in plan.updating:
                assert holder.story_id is not None  # only other feeds' items are pending
                plan.updating.add(holder.story_id)
                plan.items.append(
                    Item(
                        index,
                        story,
                        UPDATED,
                        target=holder.story_id,
                        add_key=True,
                        canonical=url,
                        previous=url,
                    )
                )
            else:
                plan.items.append(
                    Item(index, story, UNCHANGED, target=holder.story_id, add_key=True)
                )
            continue
        if url is not None and url in claimed:
            # Two keys, one article in the same document: link the second to the first.
            first = claimed[url]
            joins = first if first.outcome == NEW else None
            plan.items.append(
                Item(index, story, UNCHANGED, target=first.target, joins=joins, add_key=True)
            )
            continue
        item = Item(index, story, NEW)
        if url is not None:
            claimed[url] = item
        plan.items.append(item)
