"""Episodes: numbered show notes become the points; show-note chrome never reaches a summary."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.ingest.parser import parse_and_normalize
from bot.core.summarize import (
    ExtractiveConfig,
    Section,
    Summary,
    SummaryInput,
    digest_formatter,
    summarize_extractive,
)
from bot.core.summarize.notes import show_notes
from bot.core.summarize.quality import keep_complete_sentences
from tests.ingest.conftest import fixture_bytes

CONFIG = ExtractiveConfig()
CHROME = (
    "download audio",
    "ad choices",
    "adchoices",
    "sponsored by",
    "use code",
    "with code",
    "% off",
    "rate us",
    "subscribe",
    "support the",
    "patreon",
)


def _summarize(text: str, kind: str = "podcast", title: str = "Episode 12") -> Summary:
    return summarize_extractive(SummaryInput(title, text, None, "en", kind), CONFIG)


def _fixture_digests(name: str, url: str) -> dict[str, str]:
    now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    out: dict[str, str] = {}
    for story in parse_and_normalize(fixture_bytes(name), {}, url, now).stories:
        summary = summarize_extractive(
            SummaryInput(story.title, story.content_text, story.url, story.language, story.kind),
            CONFIG,
        )
        out[story.title] = digest_formatter(summary.to_dict(), 1500) or ""
    return out


def test_numbered_notes_one_per_line_are_the_points():
    digests = _fixture_digests("podcast_rss.xml", "https://podcast.example/feed.xml")
    ep88 = digests["Ep. 88: Write-ahead logs, explained"]
    assert ep88.startswith("Ana walks Ben through how a database survives a crash")
    assert "• Why fsync is slower than you think and what it actually promises." in ep88
    assert "• Group commit lets many transactions share one disk flush." in ep88
    assert "1)" not in ep88  # the numbers are the list's, not the point's
    ep87 = digests["Ep. 87: Queues at the edge"]
    # The itunes:subtitle is the synopsis (verbless, as subtitles are), then the opening.
    assert ep87.startswith(
        "Queues, backpressure and retries at the edge. Ben explains why putting a queue"
    )
    assert "• Retries without jitter turn a short outage into a thundering herd." in ep87


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("podcast_rss.xml", "https://podcast.example/feed.xml"),
        ("youtube_atom.xml", "https://www.youtube.com/feeds/videos.xml?channel_id=x"),
    ],
)
def test_show_note_chrome_never_reaches_a_digest(name: str, url: str):
    for title, digest in _fixture_digests(name, url).items():
        assert digest, title
        lowered = digest.lower()
        assert not [c for c in CHROME if c in lowered], (title, digest)


def test_inline_numbered_notes_and_fragments_are_kept_as_written():
    text = (
        "Ana and Ben talk about what makes a database fast and what makes it safe.\n"
        "In this episode: 1) Debate over fsync on laptops 2) The WAL, explained with "
        "sticky notes 3) Listener mail about vacuum\n"
        "This episode is sponsored by Quarry. Use code TALK for 20% off.\n"
        "Learn more about your ad choices. Visit megaphone.fm/adchoices"
    )
    summary = _summarize(text)
    assert summary.sections == (
        Section(
            None,
            (
                "Debate over fsync on laptops",
                "The WAL, explained with sticky notes",
                "Listener mail about vacuum",
            ),
            notes=True,
        ),
    )
    assert summary.lead.startswith("Ana and Ben talk about what makes a database fast")
    # Stored and shown again: note points are not held to the sentence rules.
    shown = keep_complete_sentences(Summary.from_dict(summary.to_dict()))
    assert shown.sections == summary.sections
    # The same fragments as ordinary points would be dropped.
    plain = Summary(lead=summary.lead, sections=(Section(None, summary.sections[0].bullets),))
    assert keep_complete_sentences(plain).sections == ()


def test_an_article_numbered_list_is_ranked_as_prose():
    text = (
        "We moved our build to remote execution last quarter and builds got much faster.\n"
        "1. Cache hits rose from forty to ninety percent after we pinned the toolchain.\n"
        "2. Cold builds still take twenty minutes because the linker runs locally.\n"
        "The next step is moving linking to the remote workers as well."
    )
    summary = _summarize(text, kind="article", title="Remote builds")
    assert not any(section.notes for section in summary.sections)


def test_only_a_run_from_one_counting_up_is_a_list():
    assert (
        show_notes("We upgraded to Python 3. Then 4) nothing", max_points=4, point_max_chars=280)
        is None
    )
    notes = show_notes(
        "Intro line.\n2) not first\n1) Alpha topic\n2) Beta topic\n3) Gamma topic\n1) Again",
        max_points=4,
        point_max_chars=280,
    )
    assert notes is not None and notes.points == ("Alpha topic", "Beta topic", "Gamma topic")
    assert "Intro line." in notes.prose and "Alpha" not in notes.prose


def test_section_shape_round_trips_and_old_rows_still_read():
    assert Section(None, ("a",)).to_dict() == {"heading": None, "bullets": ["a"]}
    assert Section.from_dict({"heading": None, "bullets": ["a"], "notes": True}).notes is True
    with pytest.raises(ValueError):
        Section.from_dict({"heading": None, "bullets": ["a"], "notes": "yes"})


def test_an_episode_opens_with_its_synopsis_even_a_verbless_one():
    # As normalize stores an episode with an itunes:subtitle: the subtitle first, then notes
    # that are a topic list (ATP-shaped), one of them a real question.
    text = (
        "Onavo, the FaceTime bug, early iPhone rumors, and instant search.\n\n"
        "Follow-up:\n\nSilence of Siri\n\nWireless Accessory Config\n\n"
        "Does anyone doubt that the research app broke the enterprise rules?\n\n"
        "Sponsored by:\n\nCasper: Get $50 off select mattresses with code atp."
    )
    summary = _summarize(text, title="311: Mutually Assured Destruction")
    assert summary.lead == "Onavo, the FaceTime bug, early iPhone rumors, and instant search."
    assert summary.bullets == (
        "Does anyone doubt that the research app broke the enterprise rules?",
    )
    shown = digest_formatter(summary.to_dict(), 1500) or ""
    assert shown.startswith("Onavo, the FaceTime bug")  # kept when shown, though verbless
    assert "mattress" not in shown


def test_a_subtitle_set_as_a_heading_is_the_synopsis():
    text = (
        "## Digital planetariums bring the magic of science back\n\n"
        "Planetariums were the cathedrals of science a century ago. Our guest explains how "
        "modern projectors work and what he wants to show in them next."
    )
    summary = _summarize(text, title="CRE207 Planetariums")
    assert summary.lead == "Digital planetariums bring the magic of science back."
