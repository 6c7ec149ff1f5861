"""ParsedFeed -> NormalizedStory: stable keys, canonical URLs, plain text, UTC dates.

Only plain text leaves this module (invariant 6); the story key rules implement invariant 1.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from bot.core.ingest.urls import canonical_url, canonical_urls, resolve_url
from bot.core.models import ARTICLE, NormalizedStory, ParsedEntry, ParsedFeed
from bot.core.search import searchable_text
from bot.core.shownotes import strip_show_notes
from bot.core.text import clean_html, clean_text, strip_boilerplate, without_headings

MAX_KEY_CHARS = 512
SUMMARY_CHARS = 600
# A bare video file on a post this long is its illustration; a video post says little more.
CLIP_ARTICLE_WORDS = 300
_UNTITLED = "(untitled)"

SearchText = tuple[str, str]  # (search_title, search_body) as stored in ``stories``


def search_text_for(story: NormalizedStory) -> SearchText:
    """The indexed text of a story, the same wherever it is computed (parser worker or not)."""
    return (
        searchable_text(story.title),
        searchable_text(f"{story.summary} {without_headings(story.content_text)}"),
    )


def _aware_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _sha256(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _cut(text: str, limit: int) -> str:
    """Cut on a word boundary (CJK text has none, so fall back to a hard cut)."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    space = head.rfind(" ")
    if space > limit * 0.6:
        head = head[:space]
    return head.rstrip(" ,;:.-") + "…"


# NUL (PostgreSQL text cannot hold it) and lone surrogates (JSON Feed ids may carry them; no
# database encodes them): a key with either could never be stored, failing on every poll.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _key_value(value: str) -> str:
    # Some feeds put whole URLs with long query strings, or worse, into <guid>.
    if len(value) <= MAX_KEY_CHARS and not _UNSTORABLE.search(value):
        return value
    return "sha256:" + _sha256(value)


def unusable_key_kinds(entries: tuple[ParsedEntry, ...], base: str | None) -> frozenset[str]:
    """Id kinds that repeat inside this one document and so cannot identify an item."""
    return _repeated_kinds(entries, [_entry_link(e, base)[1] for e in entries])


def _repeated_kinds(
    entries: Sequence[ParsedEntry], link_keys: Sequence[str | None]
) -> frozenset[str]:
    bad: set[str] = set()
    guids = Counter(e.guid for e in entries if e.guid)
    if any(n > 1 for n in guids.values()):
        bad.add("guid")
    links = Counter(k for k in link_keys if k is not None)
    if any(n > 1 for n in links.values()):
        bad.add("link")
    return frozenset(bad)


def _link_key(url: str) -> str:
    return canonical_url(url, keep_fragment=True) or url


def _entry_link(entry: ParsedEntry, base: str | None) -> tuple[str | None, str | None, str | None]:
    """(absolute URL, link key before _key_value, canonical URL) of an entry. URL parsing is
    a good part of normalising an item, and the key kinds, the key, the candidate keys and the
    canonical URL all need these, so a document computes them once per entry."""
    url = resolve_url(base, entry.link)
    if url is not None:
        canonical, with_fragment = canonical_urls(url)
        return url, with_fragment or url, canonical
    return None, _link_key(entry.link) if entry.link else None, None


def _hash_key(title: str, date: datetime | None) -> str:
    # The feed's own date, never fetched_at: the key must be the same on every fetch.
    stamp = _aware_utc(date).isoformat() if date else ""
    return _sha256(title, stamp)


def story_key(
    entry: ParsedEntry, url: str | None, title: str, unusable: frozenset[str]
) -> tuple[str, str]:
    """(key, kind): guid, else link (canonical, #fragment kept), else sha256(title + date)."""
    link = url or entry.link
    return _story_key(entry, _link_key(link) if link else None, title, unusable)


def _story_key(
    entry: ParsedEntry, link_key: str | None, title: str, unusable: frozenset[str]
) -> tuple[str, str]:
    if entry.guid and "guid" not in unusable:
        return _key_value(entry.guid), "guid"
    if link_key is not None and "link" not in unusable:
        return _key_value(link_key), "link"
    return _hash_key(title, entry.published or entry.updated), "hash"


KEY_KINDS = ("guid", "link", "hash")
_CANDIDATE = "key:"  # NormalizedStory.extra["key:guid"|"key:link"|"key:hash"]


def _candidate_keys(entry: ParsedEntry, link_key: str | None, title: str) -> dict[str, str]:
    """The key each kind would give this entry, whatever this document made unusable.

    Which kinds are usable is decided per feed (a kind a document repeats is dropped for good,
    see ``normalize_document``), but rows stored before that decision, or under another feed
    that shares the item, may carry another kind; storage looks all of them up. An
    undated hash key is only the title, too weak to identify an item on its own ("Weekly
    notes"), so it is offered only when it is the story's own key.
    """
    found: dict[str, str] = {}
    if entry.guid:
        found[_CANDIDATE + "guid"] = _key_value(entry.guid)
    if link_key is not None:
        found[_CANDIDATE + "link"] = _key_value(link_key)
    date = entry.published or entry.updated
    if date:
        found[_CANDIDATE + "hash"] = _hash_key(title, date)
    return found


_CANDIDATE_FIELDS = tuple(_CANDIDATE + kind for kind in KEY_KINDS)


def candidate_keys(story: NormalizedStory) -> tuple[str, ...]:
    """``story.key`` first, then the keys other documents of its feed may have given it
    (each once). Called per item on every store: kept cheap."""
    extra = story.extra
    if not extra:
        return (story.key,)
    keys = [story.key]
    for name in _CANDIDATE_FIELDS:
        other = extra.get(name)
        if other and other not in keys:
            keys.append(other)
    return tuple(keys)


_BLOGGER_THUMB = re.compile(r"(/s\d+-c/|=s\d+-c$)")


def _bigger_thumbnail(url: str) -> str:
    """Blogger's media:thumbnail is a 72 px crop; the same URL serves any size."""
    if "blogger.googleusercontent.com" in url or "bp.blogspot.com" in url:
        return _BLOGGER_THUMB.sub(lambda m: "/s1600/" if m.group(0)[0] == "/" else "=s1600", url)
    return url


def _dedupe_tags(tags: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for raw in tags:
        tag = clean_text(raw, single_line=True)
        if tag and tag.casefold() not in seen:
            seen[tag.casefold()] = tag
    return tuple(seen.values())


def _synopsis(subtitle: str | None, text: str) -> str | None:
    """An episode's subtitle as an opening line, unless the notes already open with it (many
    feeds repeat their description there). Ended with a full stop: it is read as the lead."""
    line = clean_text(subtitle, single_line=True).strip()
    if len(line.split()) < 3:
        return None
    bare = line.rstrip(".…!? ").casefold()
    if bare in text[: len(line) + 200].casefold():
        return None
    return line if line[-1] in ".!?…" else f"{line}."


def normalize_entry(
    entry: ParsedEntry,
    *,
    base: str | None,
    fetched_at: datetime,
    unusable: frozenset[str] = frozenset(),
    language: str | None = None,
    feed_image: str | None = None,
) -> NormalizedStory:
    """One entry as a story; ``base`` resolves relative links and image URLs."""
    url, link_key, canonical = _entry_link(entry, base)
    return _normalize_entry(
        entry,
        url,
        link_key,
        canonical,
        base=base,
        fetched_at=fetched_at,
        unusable=unusable,
        language=language,
        feed_image=feed_image,
    )


def _normalize_entry(
    entry: ParsedEntry,
    url: str | None,
    link_key: str | None,
    canonical: str | None,
    *,
    base: str | None,
    fetched_at: datetime,
    unusable: frozenset[str],
    language: str | None,
    feed_image: str | None = None,
) -> NormalizedStory:
    fetched = _aware_utc(fetched_at)
    media = entry.media

    # content_text keeps the article's headings (marked lines) for the summariser; summary
    # is shown as it is, so it never carries a marker.
    content = clean_html(entry.content_html, headings=True)
    # RSS feeds often repeat the full article in <description> and <content:encoded>.
    same = entry.summary_html == entry.content_html
    summary_raw = content if same else clean_html(entry.summary_html, headings=True)
    content_text = strip_boilerplate(content.text)
    summary_marked = content_text if same else strip_boilerplate(summary_raw.text)
    words = max(len(content_text.split()), len(summary_marked.split()))
    if media is not None and media.clip and words >= CLIP_ARTICLE_WORDS:
        media = None  # a post illustrated with a screen recording is still an article
    if media is not None:
        # Show notes carry ad-choice notices, sponsor reads and coupon codes line by line.
        content_text = strip_show_notes(content_text)
        summary_marked = strip_show_notes(summary_marked)
        synopsis = _synopsis(media.subtitle, content_text)
        if synopsis:
            content_text = f"{synopsis}\n\n{content_text}".strip()
            summary_marked = f"{synopsis}\n\n{summary_marked}".strip()
    if len(summary_marked) > len(content_text):
        content_text = summary_marked
    summary = without_headings(summary_marked)
    if not summary:
        summary = _cut(without_headings(content_text), SUMMARY_CHARS)

    title = clean_text(entry.title, single_line=True)
    if not title:
        title = _cut(" ".join(summary.split()), 120) or _UNTITLED

    key, kind = _story_key(entry, link_key, title, unusable)

    image: str | None = None
    # An episode without its own image shows the show's artwork; an article would show the
    # blog's logo, which says nothing, so it keeps none.
    artwork = (feed_image,) if media is not None else ()
    for candidate in (*entry.image_urls, content.first_image, summary_raw.first_image, *artwork):
        image = resolve_url(url or base, candidate)
        if image:
            image = _bigger_thumbnail(image)
            break

    date = entry.published or entry.updated
    published = _aware_utc(date) if date else fetched
    if published > fetched:
        published = fetched  # scheduled/misdated posts must not sort above today's news

    author = clean_text(entry.author, single_line=True) or None
    tags = _dedupe_tags(entry.tags)
    media_kind, duration, play = ARTICLE, None, None
    if media is not None:
        media_kind, duration = media.kind, media.duration_s
        # No file of its own (a player page, iTunes tags only): the item's page plays it.
        play = resolve_url(url or base, media.url) if media.url else url
    # Only episodes hash their media: an article's hash (and so its stored summary) stays as
    # it was before stories had kinds, while a stored episode is updated once with them.
    media_hash = (f"{media_kind}|{duration or ''}|{play or ''}",) if media is not None else ()
    return NormalizedStory(
        key=key,
        key_kind=kind,
        url=url,
        canonical_url=canonical,
        title=title,
        summary=summary,
        content_text=content_text,
        author=author,
        tags=tags,
        image_url=image,
        published_at=published,
        content_hash=_sha256(
            title, summary, content_text, canonical or url or "", image or "", *media_hash
        ),
        language=language,
        extra=_candidate_keys(entry, link_key, title),
        kind=media_kind,
        duration_s=duration,
        media_url=play,
    )


def normalize_feed(
    feed: ParsedFeed,
    feed_url: str,
    fetched_at: datetime,
    unusable: frozenset[str] = frozenset(),
) -> tuple[NormalizedStory, ...]:
    """All entries of one fetched document as stories, keys unique within the document.

    ``unusable``: key kinds the feed already lost (``Feed.unusable_key_kinds``).
    """
    return normalize_document(feed, feed_url, fetched_at, unusable)[0]


def normalize_document(
    feed: ParsedFeed,
    feed_url: str,
    fetched_at: datetime,
    unusable: frozenset[str] = frozenset(),
) -> tuple[tuple[NormalizedStory, ...], frozenset[str]]:
    """``normalize_feed`` plus the key kinds it avoided: ``unusable`` (what the feed lost in
    earlier documents) and the kinds this document repeats. The caller stores that set with
    the feed, so a kind lost once stays lost and keys never flip back (invariant 1)."""
    # Links are relative to the site link when the feed gives one, else to the feed URL.
    base = resolve_url(feed_url, feed.link) or feed_url
    links = [_entry_link(entry, base) for entry in feed.entries]
    unusable = frozenset(unusable) | _repeated_kinds(feed.entries, [k for _, k, _ in links])
    language = clean_text(feed.language, single_line=True) or None
    feed_image = resolve_url(base, feed.image_url)
    stories: list[NormalizedStory] = []
    seen: set[str] = set()
    for entry, (url, link_key, canonical) in zip(feed.entries, links, strict=True):
        story = _normalize_entry(
            entry,
            url,
            link_key,
            canonical,
            base=base,
            fetched_at=fetched_at,
            unusable=unusable,
            language=language,
            feed_image=feed_image,
        )
        # story_keys is unique per (feed, key) whatever the kind: a guid may equal another
        # item's link key, and identical hash keys (same title, no date) collide too. Keep
        # the first: a key names one story, and a second item under it would be stored by
        # nobody or would fail the whole document.
        if story.key in seen:
            continue
        seen.add(story.key)
        stories.append(story)
    return tuple(stories), unusable
