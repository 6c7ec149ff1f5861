"""The feature extensions `techbrief run` loads, one per feature (each has `setup(bot)`)."""

from __future__ import annotations

EXTENSIONS: tuple[str, ...] = (
    "cogs.help",
    "cogs.briefs",
    "cogs.sources",
    "cogs.feeds",
    "cogs.search",
    "cogs.bookmarks",
    "cogs.share",
)
