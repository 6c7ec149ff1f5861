"""The renderer's hook: a stored summary (``story_summaries.data``) as embed description text."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from bot.core.briefs import safetext
from bot.core.summarize.format import format_summary
from bot.core.summarize.quality import keep_complete_sentences
from bot.core.summarize.types import Summary

log = logging.getLogger(__name__)


def digest_formatter(
    data: Mapping[str, Any], limit: int, *, takeaway_label: str = "Takeaway"
) -> str | None:
    """Lead, key points and takeaway within ``limit`` characters, or None to use the feed text.

    Matches ``bot.core.briefs.render.DigestFormatter``. Stored rows are data from an earlier
    build or a model, so anything that does not validate yields None (the renderer then falls
    back to the story's own summary) rather than an error that would sink the whole message.
    Every piece of text goes through ``safetext.inert``: summaries quote feed text, and feed
    text is hostile.
    """
    if not isinstance(data, Mapping):
        return None
    try:
        summary = Summary.from_dict(data)
    except (ValueError, TypeError) as exc:
        log.info("stored summary ignored: %s", exc)
        return None
    if summary.method == "extractive":
        # Rows stored before the sentence rules may still hold fragments and bylines.
        summary = keep_complete_sentences(summary)
    if not summary.lead.strip() and not summary.bullets:
        return None
    return (
        format_summary(summary, limit=limit, escape=safetext.inert, takeaway_label=takeaway_label)
        or None
    )
