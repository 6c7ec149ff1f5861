"""Strict validation of what the model returned: shape, counts, lengths, and inertness.

The model's text is untrusted (the article it read may have steered it): every piece is
reduced to plain text, mentions are neutralised, links other than the story's own are removed,
and lengths are enforced by trimming on sentence, then word, boundaries.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.core.summarize.sanitize import clean_untrusted
from bot.core.summarize.trim import cut_words, fit_sentences
from bot.core.summarize.types import Section, Summary

_FENCE_RE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class OutputLimits:
    lead_max_chars: int = 400
    heading_max_chars: int = 80
    bullet_max_chars: int = 240
    takeaway_max_chars: int = 240
    min_sections: int = 2
    max_sections: int = 5
    max_bullets: int = 4


class InvalidOutput(ValueError):
    """The completion cannot be used; ``reason`` is a fallback counter key."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


def parse_completion(content: str, *, own_url: str | None, limits: OutputLimits) -> Summary:
    fenced = _FENCE_RE.match(content)
    if fenced:
        content = fenced.group(1)  # some servers wrap JSON mode output in a code fence anyway
    try:
        data = json.loads(content)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise InvalidOutput("invalid_json", str(exc)[:100]) from None
    return validate_summary(data, own_url=own_url, limits=limits)


def _text(value: Any, what: str, own_url: str | None) -> str:
    if not isinstance(value, str):
        raise InvalidOutput("invalid_shape", f"{what} is not a string")
    return clean_untrusted(value, own_url)


def validate_summary(data: Any, *, own_url: str | None, limits: OutputLimits) -> Summary:
    if not isinstance(data, dict):
        raise InvalidOutput("invalid_shape", "top level is not an object")
    lead = fit_sentences(_text(data.get("lead"), "lead", own_url), limits.lead_max_chars, 2)
    if not lead:
        raise InvalidOutput("invalid_shape", "empty lead")

    raw_sections = data.get("sections")
    if not isinstance(raw_sections, list):
        raise InvalidOutput("invalid_shape", "sections is not a list")
    sections: list[Section] = []
    for raw in raw_sections:
        if not isinstance(raw, dict):
            raise InvalidOutput("invalid_shape", "a section is not an object")
        heading_raw = raw.get("heading")
        heading = None
        if heading_raw is not None:
            heading = cut_words(_text(heading_raw, "heading", own_url), limits.heading_max_chars)
            heading = heading.rstrip(":：").strip() or None
        bullets_raw = raw.get("bullets")
        if not isinstance(bullets_raw, list):
            raise InvalidOutput("invalid_shape", "bullets is not a list")
        bullets = [
            fit_sentences(_text(b, "bullet", own_url), limits.bullet_max_chars) for b in bullets_raw
        ]
        # Extra bullets are dropped (the rest is still good); empty ones were only links/markup.
        bullets = [b for b in bullets if b][: limits.max_bullets]
        if bullets:
            sections.append(Section(heading, tuple(bullets)))
    if len(sections) < limits.min_sections:
        raise InvalidOutput("invalid_shape", f"{len(sections)} usable sections")
    if len(sections) > limits.max_sections:
        raise InvalidOutput("invalid_shape", f"{len(sections)} sections")

    takeaway_raw = data.get("takeaway")
    takeaway = None
    if takeaway_raw is not None:
        takeaway = fit_sentences(
            _text(takeaway_raw, "takeaway", own_url), limits.takeaway_max_chars, 1
        )
    return Summary(lead=lead, sections=tuple(sections), takeaway=takeaway or None, method="llm")
