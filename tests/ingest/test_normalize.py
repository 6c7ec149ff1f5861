"""Story keys, canonical URLs, clean text, images, dates, content hashes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from bot.core.ingest import parse_and_normalize
from bot.core.ingest.normalize import (
    candidate_keys,
    normalize_document,
    normalize_entry,
    normalize_feed,
)
from bot.core.ingest.urls import canonical_url, canonical_urls, resolve_url
from bot.core.models import ParsedEntry, ParsedFeed
from bot.core.text import clean_html, clean_text, html_to_text, strip_boilerplate
from tests.ingest.conftest import FETCHED_AT, fixture_bytes


def entry(**kw: Any) -> ParsedEntry:
    base: dict[str, Any] = {
        "guid": None,
        "link": None,
        "title": "Title",
        "summary_html": None,
        "content_html": None,
        "author": None,
    }
    base.update(kw)
    return ParsedEntry(**base)


def feed(*entries: ParsedEntry, link: str | None = "https://site.test/blog/") -> ParsedFeed:
    return ParsedFeed(title="F", link=link, language=None, entries=entries)


# -- story keys ---------------------------------------------------------------------------------


def test_key_prefers_guid_then_link_then_hash():
    stories = normalize_feed(
        feed(
            entry(guid="g-1", link="https://site.test/1"),
            entry(link="https://site.test/2?utm_source=rss"),
            entry(title="Only a title", published=datetime(2026, 11, 1, tzinfo=UTC)),
        ),
        "https://site.test/feed",
        FETCHED_AT,
    )
    assert [(s.key_kind, s.key) for s in stories[:2]] == [
        ("guid", "g-1"),
        ("link", "https://site.test/2"),
    ]
    assert stories[2].key_kind == "hash" and len(stories[2].key) == 64


def test_duplicate_guids_fall_back_to_links():
    doc = feed(
        entry(guid="same", link="https://site.test/a"),
        entry(guid="same", link="https://site.test/b"),
        entry(guid="unique", link="https://site.test/c"),
    )
    stories = normalize_feed(doc, "https://site.test/feed", FETCHED_AT)
    assert [s.key_kind for s in stories] == ["link", "link", "link"]
    assert len({s.key for s in stories}) == 3


def test_duplicate_guids_and_links_fall_back_to_hash():
    doc = feed(
        entry(guid="same", link="https://site.test/", title="One"),
        entry(guid="same", link="https://site.test/?utm_source=x", title="Two"),
    )
    stories = normalize_feed(doc, "https://site.test/feed", FETCHED_AT)
    assert [s.key_kind for s in stories] == ["hash", "hash"]
    assert stories[0].key != stories[1].key


def test_links_differing_only_by_fragment_stay_distinct_keys():
    doc = feed(
        entry(link="https://news.test/issue#item-1", title="A"),
        entry(link="https://news.test/issue#item-2", title="B"),
    )
    stories = normalize_feed(doc, "https://news.test/feed", FETCHED_AT)
    assert [(s.key_kind, s.key) for s in stories] == [
        ("link", "https://news.test/issue#item-1"),
        ("link", "https://news.test/issue#item-2"),
    ]
    assert stories[0].canonical_url == stories[1].canonical_url == "https://news.test/issue"


def test_duplicate_guid_rss_document():
    doc = b"""<rss version="2.0"><channel><title>t</title><link>https://dup.test/</link>
    <item><title>A</title><link>https://dup.test/a</link><guid>https://dup.test/</guid></item>
    <item><title>B</title><link>https://dup.test/b</link><guid>https://dup.test/</guid></item>
    </channel></rss>"""
    stories = parse_and_normalize(doc, {}, "https://dup.test/feed", FETCHED_AT).stories
    assert [(s.key_kind, s.key) for s in stories] == [
        ("link", "https://dup.test/a"),
        ("link", "https://dup.test/b"),
    ]


def test_hash_key_is_stable_across_fetches_without_dates():
    doc = feed(entry(title="Dateless"), link=None)
    first = normalize_feed(doc, "https://s.test/feed", FETCHED_AT)[0]
    later = normalize_feed(doc, "https://s.test/feed", FETCHED_AT + timedelta(days=3))[0]
    assert first.key_kind == "hash" and first.key == later.key
    assert first.published_at == FETCHED_AT and later.published_at != FETCHED_AT


def test_guid_key_does_not_depend_on_feed_url():
    body = fixture_bytes("latin1_declared.xml")
    a = parse_and_normalize(body, {}, "https://one.test/feed", FETCHED_AT).stories[0]
    b = parse_and_normalize(body, {}, "https://two.test/moved", FETCHED_AT).stories[0]
    assert a.key == b.key == "heise-1"


def test_very_long_guid_is_hashed():
    story = normalize_feed(feed(entry(guid="x" * 2000)), "https://s.test/", FETCHED_AT)[0]
    assert story.key.startswith("sha256:") and len(story.key) < 100


def test_guid_equal_to_another_items_link_key_is_kept_once():
    # story_keys is unique on (feed, key) whatever the kind: two items under one key would fail
    # the whole document on every poll. The first item keeps the key.
    doc = feed(
        entry(guid="https://x.test/post", link="https://x.test/post-slug", title="First"),
        entry(link="https://x.test/post", title="Second"),
        entry(guid="g-3", link="https://x.test/3", title="Third"),
    )
    stories = normalize_feed(doc, "https://x.test/feed", FETCHED_AT)
    assert [(s.key_kind, s.key, s.title) for s in stories] == [
        ("guid", "https://x.test/post", "First"),
        ("guid", "g-3", "Third"),
    ]


def test_unstorable_guid_is_hashed():
    # PostgreSQL text cannot hold NUL; no database encodes a lone surrogate (JSON Feed ids).
    doc = feed(entry(guid="a\x00b", title="A"), entry(guid="b\udcffc", title="B"))
    stories = normalize_feed(doc, "https://s.test/", FETCHED_AT)
    assert all(s.key.startswith("sha256:") for s in stories)
    assert stories[0].key != stories[1].key
    again = normalize_feed(doc, "https://s.test/", FETCHED_AT + timedelta(hours=1))
    assert [s.key for s in again] == [s.key for s in stories]


def test_candidate_keys_cover_every_kind_the_item_could_be_keyed_by():
    dated = datetime(2026, 11, 1, tzinfo=UTC)
    doc = feed(
        entry(guid="same", link="https://site.test/a", title="A", published=dated),
        entry(guid="same", link="https://site.test/b?utm_source=rss", title="B"),
        entry(guid="g-c", link="https://site.test/c", title="C", published=dated),
    )
    a, b, c = normalize_feed(doc, "https://site.test/feed", FETCHED_AT)
    assert (a.key_kind, a.key) == ("link", "https://site.test/a")  # guid unusable here
    assert candidate_keys(a)[:2] == ("https://site.test/a", "same")
    assert len(candidate_keys(a)) == 3 and len(candidate_keys(a)[2]) == 64  # dated: hash too
    # Undated: sha256(title) alone would tie every "Weekly notes" post together; not offered.
    assert candidate_keys(b) == ("https://site.test/b", "same")
    # Other documents of this feed may key C by its guid (as here) or by its link.
    assert candidate_keys(c)[:2] == ("https://site.test/c", "g-c")
    # The same entry in a document where guids are usable: same candidates, guid first.
    (c_alone,) = normalize_feed(feed(doc.entries[2]), "https://site.test/feed", FETCHED_AT)
    assert c_alone.key == "g-c"
    assert set(candidate_keys(c_alone)) == set(candidate_keys(c))


def test_kinds_the_feed_lost_earlier_stay_unused():
    # Unique guids in this document, but an earlier one of the feed repeated them.
    doc = feed(
        entry(guid="g-1", link="https://site.test/1"),
        entry(guid="g-2", link="https://site.test/2"),
    )
    assert [s.key_kind for s in normalize_feed(doc, "https://site.test/feed", FETCHED_AT)] == [
        "guid",
        "guid",
    ]
    stories, kinds = normalize_document(
        doc, "https://site.test/feed", FETCHED_AT, frozenset({"guid"})
    )
    assert [(s.key_kind, s.key) for s in stories] == [
        ("link", "https://site.test/1"),
        ("link", "https://site.test/2"),
    ]
    assert kinds == {"guid"}
    # Both lost: hash keys (and candidate keys still list the guid and link).
    both = normalize_feed(doc, "https://site.test/feed", FETCHED_AT, frozenset({"guid", "link"}))
    assert {s.key_kind for s in both} == {"hash"}
    assert "g-1" in candidate_keys(both[0])


def test_document_kinds_are_added_to_the_feeds_kinds():
    doc = feed(
        entry(guid="g-1", link="https://site.test/same"),
        entry(guid="g-2", link="https://site.test/same#"),
    )
    stories, kinds = normalize_document(doc, "https://site.test/feed", FETCHED_AT)
    assert kinds == {"link"} and [s.key_kind for s in stories] == ["guid", "guid"]
    _, kinds = normalize_document(doc, "https://site.test/feed", FETCHED_AT, frozenset({"guid"}))
    assert kinds == {"guid", "link"}


def test_parse_outcome_reports_the_combined_kinds():
    repeated = b"""<rss version="2.0"><channel><title>t</title><link>https://dup.test/</link>
    <item><title>A</title><link>https://dup.test/a</link><guid>https://dup.test/</guid></item>
    <item><title>B</title><link>https://dup.test/b</link><guid>https://dup.test/</guid></item>
    </channel></rss>"""
    first = parse_and_normalize(repeated, {}, "https://dup.test/feed", FETCHED_AT)
    assert first.unusable_key_kinds == {"guid"}
    # The feed fixes its guids: on their own, they would be used again.
    fixed = repeated.replace(
        b"<guid>https://dup.test/</guid></item>\n    <item><title>B",
        b"<guid>https://dup.test/?p=1</guid></item>\n    <item><title>B",
    )
    alone = parse_and_normalize(fixed, {}, "https://dup.test/feed", FETCHED_AT)
    assert alone.unusable_key_kinds == frozenset()
    assert [s.key_kind for s in alone.stories] == ["guid", "guid"]
    later = parse_and_normalize(
        fixed, {}, "https://dup.test/feed", FETCHED_AT, unusable=first.unusable_key_kinds
    )
    assert later.unusable_key_kinds == {"guid"}
    assert [s.key for s in later.stories] == [s.key for s in first.stories]
    assert [s.key_kind for s in later.stories] == ["link", "link"]


# -- URLs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("HTTPS://Example.COM:443/Path?b=2&a=1#frag", "https://example.com/Path?b=2&a=1"),
        ("http://example.com:80", "http://example.com/"),
        ("http://example.com:8080/x", "http://example.com:8080/x"),
        (
            "https://e.com/p?utm_source=rss&id=7&utm_MEDIUM=x&fbclid=1&gclid=2&mc_cid=3&mc_eid=4",
            "https://e.com/p?id=7",
        ),
        ("https://e.com/p?ref=hn&x=%2F&x=2", "https://e.com/p?x=%2F&x=2"),
        ("https://medium.com/@u/post-123?source=rss-abc------2", "https://medium.com/@u/post-123"),
        (
            "https://netflixtechblog.com/p-1?source=rss----2615bd06b42e---4",
            "https://netflixtechblog.com/p-1",
        ),
        ("https://shop.test/?source=newsletter-page", "https://shop.test/?source=newsletter-page"),
        ("https://e.com/a?", "https://e.com/a"),
        ("https://E.com/a?utm_source=x#Frag", "https://e.com/a"),
        ("http://[2001:DB8::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("mailto:x@y", None),
        ("/relative", None),
        ("http://[bad", None),
        ("", None),
    ],
)
def test_canonical_url(raw: str, canonical: str | None):
    assert canonical_url(raw) == canonical
    # One parse gives both forms (the canonical URL and the link key) exactly as two calls.
    assert canonical_urls(raw) == (canonical, canonical_url(raw, keep_fragment=True))


def test_link_key_keeps_the_fragment_the_canonical_url_drops():
    assert canonical_urls("HTTPS://E.com/log?utm_source=x#v2") == (
        "https://e.com/log",
        "https://e.com/log#v2",
    )


def test_resolve_url():
    assert resolve_url("https://s.test/blog/", "post/1") == "https://s.test/blog/post/1"
    assert resolve_url("https://s.test/blog/", "/img.png") == "https://s.test/img.png"
    assert resolve_url("https://s.test/", "//cdn.test/a.png") == "https://cdn.test/a.png"
    assert resolve_url("https://s.test/", "javascript:alert(1)") is None
    assert resolve_url("https://s.test/", "data:image/png;base64,xx") is None
    assert resolve_url(None, "/x") is None


def test_relative_links_resolved_against_site_link():
    stories = parse_and_normalize(
        fixture_bytes("wordpress_rss20.xml"), {}, "https://feeds.test/wp", FETCHED_AT
    ).stories
    relative = stories[1]
    assert relative.url == "https://eng.example.test/blog/relative-post/#comments"
    assert relative.canonical_url == "https://eng.example.test/blog/relative-post/"
    assert relative.image_url == "https://eng.example.test/img/thumb.jpg"


def test_relative_links_without_site_link_use_feed_url():
    story = normalize_feed(feed(entry(link="p/1"), link=None), "https://f.test/x/feed", FETCHED_AT)
    assert story[0].url == "https://f.test/x/p/1"


# -- platform shapes ----------------------------------------------------------------------------


def test_wordpress_shape():
    story = parse_and_normalize(
        fixture_bytes("wordpress_rss20.xml"), {}, "https://feeds.test/wp", FETCHED_AT
    ).stories[0]
    assert story.title == "Scaling “queues” & workers"
    assert story.summary == "We moved our job system to a new queue … and learned a lot."
    assert "appeared first on" not in story.content_text
    assert "Continue reading" not in story.summary
    assert "Share this" not in story.content_text and "Twitter" not in story.content_text
    assert "alert" not in story.content_text and "color" not in story.content_text
    assert "Throughput doubled <really>." in story.content_text  # entities decoded once
    assert "Why\n" in story.content_text and "one\n\ntwo" in story.content_text
    assert story.author == "Jane Doe"
    assert story.tags == ("Infrastructure", "Queues")
    assert story.canonical_url == "https://eng.example.test/blog/scaling-queues/"
    assert story.image_url == "https://eng.example.test/wp-content/uploads/2026/11/queues.png"
    assert story.published_at == datetime(2026, 11, 19, 15, 30, tzinfo=UTC)


def test_escaped_html_summary():
    story = parse_and_normalize(
        fixture_bytes("wordpress_rss20.xml"), {}, "https://feeds.test/wp", FETCHED_AT
    ).stories[1]
    assert story.summary == "Escaped HTML summary & more"


def test_medium_shape():
    story = parse_and_normalize(
        fixture_bytes("medium_rss.xml"), {}, "https://medium.test/feed", FETCHED_AT
    ).stories[0]
    assert story.key == "https://medium.com/p/9f8e7d6c5b4a"
    assert (
        story.canonical_url == "https://streamtech.test/rebuilding-our-video-pipeline-9f8e7d6c5b4a"
    )
    assert "originally published" not in story.content_text
    assert "on Medium" not in story.summary
    assert story.image_url == "https://cdn-images-1.medium.com/max/1024/1*pipeline.png"
    assert "Measure everything." in story.content_text


def test_blogger_shape():
    story = parse_and_normalize(
        fixture_bytes("blogger_atom10.xml"), {}, "https://b.test/feeds", FETCHED_AT
    ).stories[0]
    assert story.url == "https://research.blog.test/2026/11/forests.html"  # not the replies link
    assert "Read more" not in story.content_text
    assert story.content_text.endswith("We built a model.")
    assert story.image_url == "https://blogger.googleusercontent.com/img/b/R29v/s1600/forest.png"
    assert story.tags == ("Machine Learning", "Forests")
    assert story.published_at == datetime(2026, 11, 20, 18, 0, tzinfo=UTC)


def test_json_feed_shapes():
    stories = parse_and_normalize(
        fixture_bytes("jsonfeed11.json"), {}, "https://json11.test/feed.json", FETCHED_AT
    ).stories
    assert stories[0].image_url == "https://json11.test/img/p1.png"
    assert stories[0].author == "김개발" and stories[0].summary == "짧은 요약"
    assert stories[0].content_text == "본문 내용"
    assert stories[1].title == "No title, no date." and stories[1].published_at == FETCHED_AT
    one = parse_and_normalize(fixture_bytes("jsonfeed10.json"), {}, "https://j.test/", FETCHED_AT)
    story = one.stories[0]
    assert story.key == "42" and story.tags == ("json", "feeds")
    assert story.content_text == "Plain text where a < b and <notatag> stays text."
    assert story.published_at == datetime(2026, 11, 19, 13, 0, tzinfo=UTC)


# -- images, dates, hashes ----------------------------------------------------------------------


def test_image_priority_and_tracking_pixels():
    html = (
        '<img src="https://medium.com/_/stat?event=x" width="1" height="1">'
        '<img src="data:image/gif;base64,AAAA"><img src="/real.png">'
    )
    story = normalize_entry(entry(content_html=html), base="https://s.test/", fetched_at=FETCHED_AT)
    assert story.image_url == "https://s.test/real.png"
    with_media = normalize_entry(
        entry(content_html=html, image_urls=("https://cdn.test/m.jpg",)),
        base="https://s.test/",
        fetched_at=FETCHED_AT,
    )
    assert with_media.image_url == "https://cdn.test/m.jpg"


def test_dates_are_aware_utc_and_clamped():
    plus9 = timezone(timedelta(hours=9))
    story = normalize_entry(
        entry(published=datetime(2026, 11, 20, 9, 0, tzinfo=plus9)),
        base=None,
        fetched_at=FETCHED_AT,
    )
    assert story.published_at == datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
    assert story.published_at.tzinfo is UTC
    future = normalize_entry(
        entry(published=datetime(2100, 1, 1, tzinfo=UTC)), base=None, fetched_at=FETCHED_AT
    )
    assert future.published_at == FETCHED_AT
    missing = normalize_entry(entry(), base=None, fetched_at=FETCHED_AT)
    assert missing.published_at == FETCHED_AT
    updated_only = normalize_entry(
        entry(updated=datetime(2026, 11, 1, tzinfo=UTC)), base=None, fetched_at=FETCHED_AT
    )
    assert updated_only.published_at == datetime(2026, 11, 1, tzinfo=UTC)


def test_content_hash_tracks_visible_changes_only():
    e = entry(guid="g", link="https://s.test/a?utm_source=x", summary_html="<p>Hello</p>")
    base = normalize_entry(e, base=None, fetched_at=FETCHED_AT)
    same = normalize_entry(
        replace(e, summary_html="<div>Hello</div>", link="https://s.test/a?utm_source=y"),
        base=None,
        fetched_at=FETCHED_AT + timedelta(hours=1),
    )
    assert same.content_hash == base.content_hash
    for changed in (
        replace(e, title="Other"),
        replace(e, summary_html="<p>Hello!</p>"),
        replace(e, image_urls=("https://s.test/i.png",)),
        replace(e, link="https://s.test/b"),
    ):
        assert normalize_entry(changed, base=None, fetched_at=FETCHED_AT).content_hash != (
            base.content_hash
        )


def test_empty_title_falls_back():
    assert (
        normalize_entry(entry(title=None), base=None, fetched_at=FETCHED_AT).title == "(untitled)"
    )
    story = normalize_entry(
        entry(title="  ", summary_html="<p>First words of the body</p>"),
        base=None,
        fetched_at=FETCHED_AT,
    )
    assert story.title == "First words of the body"


def test_long_summary_derived_from_content_is_cut_on_words():
    body = "<p>" + "word " * 400 + "</p>"
    story = normalize_entry(entry(content_html=body), base=None, fetched_at=FETCHED_AT)
    assert len(story.summary) <= 601 and story.summary.endswith("word…")
    assert len(story.content_text) > 1900


# -- text cleaning ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("Tom &amp;amp; Jerry", "Tom & Jerry"),
        ("&lt;p&gt;double &lt;b&gt;escaped&lt;/b&gt;&lt;/p&gt;", "double escaped"),
        ("<p>a</p><p>b</p>", "a\n\nb"),
        ("line<br>break<br/>again", "line\nbreak\nagain"),
        # Upper case, and the parser's quirks: </br> is a <br>, <image> an <img>.
        ("LINE<BR>BREAK</br>again", "LINE\nBREAK\nagain"),
        ("<TABLE><TR><TD>a</TD><TH>b</TH></TR></TABLE>", "a b"),
        ("<script>evil()</script><style>.x{}</style><noscript>n</noscript>ok", "ok"),
        ("  lots   of\t\tspace \u00a0 here  ", "lots of space here"),
        ("zero\u200bwidth\ufeff", "zerowidth"),
        # Control characters become spaces, in ASCII and in other text alike.
        ("bell\x07and\x00nul\x7fdel\ttab", "bell and nul del tab"),
        ("caf\u00e9\x1bescape", "caf\u00e9 escape"),
        ("<table><tr><td>a</td><td>b</td></tr></table>", "a b"),
        ("Why &lt;div&gt; is bad", "Why <div> is bad"),
        ("a < b > c", "a < b > c"),
        ("<![CDATA[x]]>plain", "plain"),
        ("@everyone <@123> hi", "@everyone <@123> hi"),  # escaping mentions is the renderer's job
    ],
)
def test_html_to_text(raw: str, text: str):
    assert html_to_text(raw) == text


def test_title_is_single_line():
    assert clean_text("<h1>Big\n title</h1><p>more</p>", single_line=True) == "Big title more"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Intro.\n\nRead the whole story", "Intro."),
        ("Intro. Read more »", "Intro."),
        ("Intro.\n\n(Read more...)", "Intro."),
        ("Intro. Continue reading Some Title →", "Intro."),
        ("Intro.\n\nContinue reading", "Intro."),
        ("Intro.\n\nThe post Hello World appeared first on My Blog.", "Intro."),
        (
            "Body.\n\nFoo was originally published in Bar on Medium, where people are continuing "
            "the conversation by highlighting and responding to this story.",
            "Body.",
        ),
        ("Body.\n\nShare this story", "Body."),
        ("Body.\n\nShare this:\n\nLike this:\n\nLike Loading...", "Body."),
        ("Summary text […]", "Summary text"),
        ("Story.\n\nRead more of this story at Slashdot.", "Story."),
        ("日本語の要約です。続きを読む", "日本語の要約です。"),
        ("한국어 요약입니다.\n\n더 보기", "한국어 요약입니다."),
        ("Summary text [...]", "Summary text"),
        # Prose that merely mentions reading stays.
        ("Read more about Rust in the docs, it is good.\n\nThe end.", None),
        ("We continue reading the logs every day to find bugs.", None),
        ("Comments are welcome.", None),
    ],
)
def test_strip_boilerplate(raw: str, cleaned: str | None):
    assert strip_boilerplate(raw) == (raw if cleaned is None else cleaned)


@pytest.mark.parametrize(
    ("raw", "image"),
    [
        ("<p>x<IMG SRC='https://i.test/a.png'></p>", "https://i.test/a.png"),
        ("<p>x</p><image src='https://i.test/b.png'>", "https://i.test/b.png"),
        ("&lt;img src='https://i.test/c.png'&gt;", "https://i.test/c.png"),  # double-escaped
        ("<p>no picture</p>", None),
    ],
)
def test_clean_html_first_image(raw: str, image: str | None):
    assert clean_html(raw).first_image == image


def test_clean_html_first_image_skips_blogger_footer_tracker():
    cleaned = clean_html(
        "<p>x</p><div class='blogger-post-footer'><img src='https://t.test/pixel.gif'></div>"
    )
    assert cleaned.text == "x" and cleaned.first_image is None
