"""The data a summarizer takes and gives back, plus the ``Summarizer`` protocol.

``Summary`` is stored (JSON column / cache), so it round-trips through plain dicts and
``from_dict`` validates what it reads: a row written by an older build or edited by hand must
fail loudly here rather than reach the renderer half-formed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol, cast

SummaryMethod = Literal["extractive", "llm"]
_METHODS: frozenset[str] = frozenset({"extractive", "llm"})


@dataclass(frozen=True, slots=True)
class SummaryInput:
    """One story to summarize. ``text`` is clean plain text (HTML already removed)."""

    title: str
    text: str
    url: str | None = None
    language: str | None = None  # BCP 47-ish ("en", "ko", "ja-JP"); None when the feed is silent
    kind: str = "article"  # "article" | "podcast" | "video": episodes have show notes


@dataclass(frozen=True, slots=True)
class Section:
    """A group of key points; extractive output has one section without a heading."""

    heading: str | None
    bullets: tuple[str, ...]
    # The episode's own numbered show notes, kept as written: a note ("Why fsync is slow") is a
    # legitimate point without being a complete sentence, so the sentence rules skip it.
    notes: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"heading": self.heading, "bullets": list(self.bullets)}
        if self.notes:
            data["notes"] = True  # only then: rows of articles keep their old shape
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Section:
        heading = data.get("heading")
        bullets = data.get("bullets")
        if heading is not None and not isinstance(heading, str):
            raise ValueError("section heading must be a string or null")
        if not isinstance(bullets, list | tuple) or not all(isinstance(b, str) for b in bullets):
            raise ValueError("section bullets must be a list of strings")
        notes = data.get("notes", False)
        if not isinstance(notes, bool):
            raise ValueError("section notes must be true or false")
        return cls(
            heading=heading or None, bullets=tuple(cast(list[str], list(bullets))), notes=notes
        )


@dataclass(frozen=True, slots=True)
class Summary:
    """Lead (1-2 sentences), sections of key points, optional one-sentence takeaway."""

    lead: str
    sections: tuple[Section, ...] = ()
    takeaway: str | None = None
    method: SummaryMethod = "extractive"

    @property
    def bullets(self) -> tuple[str, ...]:
        """Every key point in order, whatever section it sits in."""
        return tuple(b for s in self.sections for b in s.bullets)

    def texts(self) -> tuple[str, ...]:
        """Every piece of text the summary shows (for checks and search indexing)."""
        out = [self.lead]
        for section in self.sections:
            if section.heading:
                out.append(section.heading)
            out.extend(section.bullets)
        if self.takeaway:
            out.append(self.takeaway)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lead": self.lead,
            "sections": [s.to_dict() for s in self.sections],
            "takeaway": self.takeaway,
            "method": self.method,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        lead = data.get("lead")
        if not isinstance(lead, str):
            raise ValueError("summary lead must be a string")
        raw_sections = data.get("sections", [])
        if not isinstance(raw_sections, list | tuple):
            raise ValueError("summary sections must be a list")
        sections = []
        for raw in raw_sections:
            if not isinstance(raw, Mapping):
                raise ValueError("each section must be an object")
            sections.append(Section.from_dict(raw))
        takeaway = data.get("takeaway")
        if takeaway is not None and not isinstance(takeaway, str):
            raise ValueError("summary takeaway must be a string or null")
        method = data.get("method", "extractive")
        if method not in _METHODS:
            raise ValueError(f"unknown summary method {method!r}")
        return cls(
            lead=lead,
            sections=tuple(sections),
            takeaway=takeaway or None,
            method=cast(SummaryMethod, method),
        )


class Summarizer(Protocol):
    """Anything that turns a story into a :class:`Summary` without blocking the loop."""

    async def summarize(self, story: SummaryInput) -> Summary: ...
