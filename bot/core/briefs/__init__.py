"""The daily brief: which stories a channel gets, when, and how they look in Discord.

Public API (pure: no I/O, no storage)::

    build_brief(stories, filters=, per_source_cap=, ...) -> Brief     # builder
    next_brief_at(...), local_day(...)                                 # schedule (cron maths)
    render, safetext                                                   # Discord payloads; limits

``safetext`` is the one owner of Discord's limits (DESIGN invariant 10); ``render`` builds
every channel message (brief header, story cards, status pages) from it, and
``render_personal`` a reader's own pages (search results, bookmarks).

Planning briefs into the outbox needs the database: ``bot.core.briefs.planning.BriefService``,
imported from there (the storage layer imports this package's types).
"""

from bot.core.briefs.builder import Brief, Filters, SourceGroup, StoryView, build_brief
from bot.core.briefs.schedule import EVERY, WEEKDAYS, cadence_text, local_day, next_brief_at

__all__ = [
    "EVERY",
    "WEEKDAYS",
    "Brief",
    "Filters",
    "SourceGroup",
    "StoryView",
    "build_brief",
    "cadence_text",
    "local_day",
    "next_brief_at",
]
