"""`techbrief inspect`, `fetch` and `feeds import|export`, called through their argparse wiring."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

import pytest

from bot.commands.ingest import register
from bot.runtime.settings import CatalogSettings, DatabaseSettings, FetchSettings, Settings
from tests.feedserver import FeedServer, rss_feed
from tests.ingest.conftest import FIXTURES


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="techbrief")
    register(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


async def run(argv: list[str], settings: Settings) -> int:
    args = _args(argv)
    return int(await args.handler(args, settings))


def _settings(
    *,
    private: bool = True,
    db_url: str = "sqlite+aiosqlite:///unused.db",
    catalog: Path | None = None,
    **fetch: float,
) -> Settings:
    return Settings(
        fetch=FetchSettings(
            allow_private_networks=private,
            parser_processes=1,
            **fetch,  # type: ignore[arg-type]
        ),
        database=DatabaseSettings(url=db_url),
        catalog=CatalogSettings(path=str(catalog) if catalog else None),
    )


# -- inspect ------------------------------------------------------------------------------------


async def test_inspect_file_plain_and_json(capsys):
    path = str(FIXTURES / "wordpress_rss20.xml")
    assert await run(["inspect", path], _settings()) == 0
    plain = capsys.readouterr().out
    assert "key:" in plain and "canonical:" in plain and "published:" in plain
    assert await run(["inspect", path, "--json"], _settings()) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines
    first = json.loads(lines[0])
    for field in (
        "key",
        "title",
        "url",
        "canonical_url",
        "published",
        "author",
        "summary",
        "image",
        "tags",
        "kind",
        "duration_s",
        "media_url",
        "digest",
        "source_name",
    ):
        assert field in first
    assert "<" not in first["summary"]  # plain text only


async def test_inspect_json_shows_episodes_as_their_cards(capsys):
    path = str(FIXTURES / "podcast_rss.xml")
    assert await run(["inspect", path, "--json"], _settings()) == 0
    ep88, ep87, ep86 = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert (ep88["kind"], ep88["duration_s"], ep88["media_url"]) == (
        "podcast",
        2520,
        "https://media.podcast.example/ep88.mp3",
    )
    assert ep88["source_name"] == "Systems Talk"
    assert ep88["image"] == "https://cdn.podcast.example/ep88.jpg"
    # The digest is the embed description the publisher would post: the summary's numbered
    # notes as points and the media line, never the show-note chrome.
    digest = ep88["digest"]
    assert digest.startswith("Ana walks Ben through how a database survives a crash")
    assert "• Group commit lets many transactions share one disk flush." in digest
    assert digest.endswith("🎧 Podcast · 42 min · [Listen](https://media.podcast.example/ep88.mp3)")
    for row in (ep88, ep87, ep86):
        lowered = row["digest"].lower()
        assert "ad choices" not in lowered and "code" not in lowered and "rate us" not in lowered
    assert (ep87["duration_s"], ep86["duration_s"], ep86["media_url"]) == (3723, 2550, None)
    assert await run(["inspect", path], _settings()) == 0
    plain = capsys.readouterr().out
    assert "kind:      podcast · 42 min · https://media.podcast.example/ep88.mp3" in plain
    assert "kind:      podcast · 43 min · no play link" in plain

    assert await run(["inspect", str(FIXTURES / "youtube_atom.xml"), "--json"], _settings()) == 0
    talk = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (talk["kind"], talk["duration_s"], talk["source_name"]) == (
        "video",
        None,
        "Fresh Eng Talks",
    )
    assert talk["media_url"] == "https://www.youtube.com/watch?v=dQw4w9WgXc1"
    assert talk["digest"].endswith("▶️ Video · [Watch](https://www.youtube.com/watch?v=dQw4w9WgXc1)")

    assert await run(["inspect", str(FIXTURES / "medium_rss.xml"), "--json"], _settings()) == 0
    article = json.loads(capsys.readouterr().out.splitlines()[0])
    assert (article["kind"], article["duration_s"], article["media_url"]) == ("article", None, None)
    assert article["digest"] and article["source_name"]


async def test_inspect_url_json_and_plain(capsys, feed_server: FeedServer):
    feed_server.add_feed("/f.xml", items=2)
    url = feed_server.url("/f.xml")
    assert await run(["inspect", url, "--json"], _settings()) == 0
    stories = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [s["title"] for s in stories] == ["Post 0", "Post 1"]
    assert stories[0]["canonical_url"] == "https://blog.test/post-0"
    assert await run(["inspect", url], _settings()) == 0
    out = capsys.readouterr().out
    assert out.startswith("Generated blog — rss20, 2 stories") and "1. Post 0" in out


@pytest.mark.parametrize(
    ("setup", "settings", "reason"),
    [
        (lambda s: s.status("/x", 404), {}, "HTTP 404"),
        (lambda s: s.add("/x", rss_feed(1), delay=2.0), {"total_timeout_s": 0.5}, "timeout"),
        (lambda s: s.huge("/x", 200_000), {"max_body_mb": 0.05}, "too large"),
        (
            lambda s: s.add("/x", "<html><p>hi</p></html>", content_type="text/html"),
            {},
            "not a feed",
        ),
        (lambda s: s.add_feed("/x"), {"private": False}, "refused address"),
    ],
)
async def test_inspect_failures_are_one_line_and_exit_1(
    capsys, feed_server: FeedServer, setup, settings, reason
):
    setup(feed_server)
    code = await run(["inspect", feed_server.url("/x")], _settings(**settings))
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.startswith("techbrief inspect: ") and reason in captured.err
    assert captured.err.count("\n") == 1 and "Traceback" not in captured.err


async def test_inspect_missing_file_and_bad_scheme(capsys, tmp_path):
    assert await run(["inspect", str(tmp_path / "nope.xml")], _settings()) == 1
    assert "cannot read" in capsys.readouterr().err
    assert await run(["inspect", "ftp://example.com/feed"], _settings()) == 1
    assert "http" in capsys.readouterr().err
    bad = tmp_path / "bad.xml"
    bad.write_text("just some words")
    assert await run(["inspect", str(bad)], _settings()) == 1
    assert "not a feed" in capsys.readouterr().err


# -- fetch and feeds ------------------------------------------------------------------------------


def _catalog(tmp_path: Path, server: FeedServer) -> Path:
    path = tmp_path / "feeds.toml"
    entries = []
    for key, route in (("good", "/good.xml"), ("broken", "/broken.xml")):
        entries.append(
            f'[[feed]]\nkey = "{key}"\nname = "{key.title()}"\nfeed_url = "{server.url(route)}"\n'
            f'site_url = "https://{key}.test/"\nlanguage = "en"\ncolor = "#123456"\n'
        )
    path.write_text("\n".join(entries))
    return path


async def test_fetch_prints_a_closing_table(capsys, db_url, tmp_path, feed_server: FeedServer):
    feed_server.add_feed("/good.xml", items=3)
    feed_server.status("/broken.xml", 500)
    settings = _settings(db_url=db_url, catalog=_catalog(tmp_path, feed_server), private=False)
    assert await run(["fetch"], settings) == 0
    out = capsys.readouterr().out
    assert "Polled 2 feeds" in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.count("│") >= 4}
    assert rows["new"].split("│")[2:4] == [" " * 5 + "1 ", " " * 7 + "3 "]
    assert "broken" in out and "HTTP 500" in out
    assert await run(["fetch"], settings) == 0
    assert "No feeds were due" in capsys.readouterr().out
    assert await run(["fetch", "--feed", "good"], settings) == 0
    assert "not modified" in capsys.readouterr().out
    assert await run(["fetch", "--feed", "nope"], settings) == 1
    assert "no feed" in capsys.readouterr().err


async def test_commands_say_when_the_schema_is_missing(capsys, tmp_path):
    settings = _settings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    for argv in (["fetch"], ["feeds", "export"]):
        assert await run(argv, settings) == 1
        err = capsys.readouterr().err
        assert "techbrief db upgrade" in err and "Traceback" not in err


async def test_feeds_import_export_round_trip(capsys, db_url, tmp_path, feed_server):
    settings = _settings(db_url=db_url, catalog=_catalog(tmp_path, feed_server), private=False)
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<opml version="2.0"><head/><body>'
        '<outline text="A" xmlUrl="https://a.example/feed"/>'
        '<outline text="A again" xmlUrl="https://a.example/feed"/>'
        '<outline text="Local" xmlUrl="http://127.0.0.1/feed"/>'
        "</body></opml>"
    )
    assert await run(["feeds", "import", str(opml)], settings) == 0
    out = capsys.readouterr().out
    assert "added 1: a\n" in out and "refused 1" in out and "127.0.0.1" in out
    assert await run(["feeds", "import", str(opml)], settings) == 0
    assert "skipped 1 already known" in capsys.readouterr().out
    target = tmp_path / "out.opml"
    assert await run(["feeds", "export", str(target)], settings) == 0
    exported = target.read_text()
    assert 'xmlUrl="https://a.example/feed"' in exported and exported.startswith("<?xml")
    assert await run(["feeds", "export"], settings) == 0
    # The two exports may straddle a second boundary; only their creation stamp may differ.
    assert _undated(capsys.readouterr().out) == _undated(exported)


def _undated(opml: str) -> str:
    return re.sub(r"<dateCreated>[^<]*</dateCreated>", "", opml)
