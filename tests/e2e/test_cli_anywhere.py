"""`techbrief` run from a directory that is not the repository finds its built-in catalog.

Issue "Layout": the default catalog used to be read from ``config/feeds.toml`` relative to
the working directory, so every command run from elsewhere (cron, a service manager, a
wheel install) failed. Here the child runs in a temporary directory with no
``TECHBRIEF_CATALOG__PATH``; the package is imported from its installed location (no
PYTHONPATH pointing at the repository). No catalog URL is ever fetched: only the feeds on
the local feed server are polled.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from bot.core.ingest import load_catalog
from tests.e2e.process import Finished, child_env, run_cli
from tests.feedserver import FeedServer, feed_server

__all__ = ["feed_server"]  # the shared fixture, used below

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]


def _opml(*urls: str) -> str:
    outlines = "\n".join(
        f'    <outline type="rss" text="Feed {i}" xmlUrl="{url}"/>' for i, url in enumerate(urls)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0">\n'
        f"  <head><title>t</title></head>\n  <body>\n{outlines}\n  </body>\n</opml>\n"
    )


async def test_commands_from_elsewhere_read_the_built_in_catalog(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feeds = feed_server
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert not (elsewhere / "config").exists()
    db = tmp_path / "t.db"
    env = child_env(
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
            "TECHBRIEF_FETCH__ALLOW_PRIVATE_NETWORKS": "1",
        }
    )
    # The installed package, not the checkout on PYTHONPATH: what a wheel user has.
    env.pop("PYTHONPATH", None)

    async def cli(*args: str) -> Finished:
        result = await run_cli(*args, env=env, cwd=elsewhere, timeout=60)
        assert "cannot be read" not in result.output, result.output
        return result

    feeds.add_feed("/local.xml", items=2)
    local = feeds.url("/local.xml")
    catalog = load_catalog()
    assert len(catalog) >= 10  # the shipped catalog, not an empty stand-in

    upgrade = await cli("db", "upgrade")
    assert upgrade.code == 0, upgrade.output
    empty = await cli("preview")
    assert empty.code == 0, empty.output
    assert "Tech Brief" in empty.stdout

    (elsewhere / "local.opml").write_text(_opml(local), encoding="utf-8")
    imported = await cli("feeds", "import", "local.opml")
    assert imported.code == 0, imported.output
    assert "added 1" in imported.stdout, imported.stdout

    fetched = await cli("fetch", "--feed", local)
    assert fetched.code == 0, fetched.output
    assert feeds.hits["/local.xml"] == 1

    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT url FROM feeds WHERE origin = 'catalog'").fetchall()
    assert {url for (url,) in rows} == {entry.feed_url for entry in catalog}

    # A catalog URL in an OPML file is recognised as known (the catalog was read, not fetched).
    (elsewhere / "again.opml").write_text(_opml(catalog[0].feed_url), encoding="utf-8")
    again = await cli("feeds", "import", "again.opml")
    assert again.code == 0, again.output
    assert "added 0" in again.stdout and "skipped 1 already known" in again.stdout, again.stdout

    brief = await cli("preview", "--since", "30d")
    assert brief.code == 0, brief.output
    assert "2 new stories" in brief.stdout, brief.stdout
    assert all(path == "/local.xml" for path in feeds.hits), feeds.hits
