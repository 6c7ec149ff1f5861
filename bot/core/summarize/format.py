"""Rendering a summary as Discord message text within a character limit.

Shape: the lead, a blank line, each section (optional bold heading, then "• " bullets), and a
bold "Takeaway:" line. When it does not fit, whole pieces go first, from the end (bullets down
to one, then the takeaway, then the last bullet, then trailing lead sentences); only a lead
sentence that alone is too long is cut, on a word boundary with an ellipsis. Each text piece is
escaped by the caller's function (Discord markdown escaping lives with the renderer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.core.summarize.sentences import split_sentences
from bot.core.summarize.trim import cut_words
from bot.core.summarize.types import Summary

BULLET = "• "


@dataclass
class _Parts:
    lead: list[str]
    sections: list[tuple[str | None, list[str]]]
    takeaway: str | None


def _render(parts: _Parts, escape: Callable[[str], str], takeaway_label: str) -> str:
    blocks: list[str] = []
    lead = _join(parts.lead)
    if lead:
        blocks.append(escape(lead))
    for heading, bullets in parts.sections:
        if not bullets:
            continue
        lines = [f"**{escape(heading)}**"] if heading else []
        lines.extend(BULLET + escape(b) for b in bullets)
        blocks.append("\n".join(lines))
    if parts.takeaway:
        blocks.append(f"**{takeaway_label}:** {escape(parts.takeaway)}")
    return "\n\n".join(blocks)


def _join(sentences: list[str]) -> str:
    out = ""
    for s in sentences:
        out = s if not out else out + ("" if out[-1] in "。！？．｡" else " ") + s
    return out


def _bullet_count(parts: _Parts) -> int:
    return sum(len(b) for _, b in parts.sections)


def _drop_last_bullet(parts: _Parts) -> None:
    while parts.sections and not parts.sections[-1][1]:
        parts.sections.pop()
    if parts.sections:
        parts.sections[-1][1].pop()
        if not parts.sections[-1][1]:
            parts.sections.pop()  # its heading goes with its last bullet


def format_summary(
    summary: Summary,
    *,
    limit: int,
    escape: Callable[[str], str],
    takeaway_label: str = "Takeaway",
) -> str:
    """The summary as text of at most ``limit`` characters (after escaping)."""
    if limit <= 0:
        return ""
    parts = _Parts(
        lead=split_sentences(summary.lead) or ([summary.lead] if summary.lead.strip() else []),
        sections=[(s.heading, list(s.bullets)) for s in summary.sections if s.bullets],
        takeaway=summary.takeaway,
    )

    def render() -> str:
        return _render(parts, escape, takeaway_label)

    text = render()
    while len(text) > limit and _bullet_count(parts) > 1:
        _drop_last_bullet(parts)
        text = render()
    if len(text) > limit and parts.takeaway:
        parts.takeaway = None
        text = render()
    while len(text) > limit and _bullet_count(parts) > 0:
        _drop_last_bullet(parts)
        text = render()
    while len(text) > limit and len(parts.lead) > 1:
        parts.lead.pop()
        text = render()
    if len(text) <= limit:
        return text

    # Last resort: one sentence longer than the limit, cut between words.
    lead = _join(parts.lead)
    room = limit
    while room > 0:
        cut = escape(cut_words(lead, room))
        if len(cut) <= limit:
            return cut
        room -= max(1, len(cut) - limit)
    return ""
