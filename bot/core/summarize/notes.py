"""An episode's numbered show notes ("1) … 2) …", "1. … 2. …"): the points of its summary.

Show notes are written as a list of topics, and a topic is rarely a sentence ("Why fsync is
slower than you think"): ranking them as prose would throw most away. So for podcasts and
videos, a run of notes numbered 1, 2, 3 … (one per line, or ``1) … 2) …`` inline on one line)
is taken as the key points, in the episode's order, and the prose around it gives the lead.

Only a run that starts at 1 and counts up counts: "Python 3. Then we …" in prose is no list.
The inline form needs the parenthesis ("1) … 2) …"), since "1. … 2. …" inside a sentence is
too often a version or a date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.summarize.boilerplate import is_boilerplate
from bot.core.summarize.trim import cut_words

_LINE_NOTE = re.compile(r"^\s*[(\[]?(\d{1,2})[.):\]]\s+(\S.*)$")
_INLINE_MARK = re.compile(r"(?:^|(?<=\s))[(\[]?(\d{1,2})\)\s+(?=\S)")
_MIN_NOTES = 2


@dataclass(frozen=True, slots=True)
class ShowNotes:
    points: tuple[str, ...]
    prose: str  # the text without the notes, for the lead


def _split_inline(line: str) -> list[str]:
    """ "Intro. 1) A 2) B 3) C" -> ["Intro.", "1) A", "2) B", "3) C"] when numbered 1, 2, …"""
    marks = list(_INLINE_MARK.finditer(line))
    numbers = [int(m.group(1)) for m in marks]
    start = next((i for i, n in enumerate(numbers) if n == 1), None)
    if start is None:
        return [line]
    run = [marks[start]]
    for mark in marks[start + 1 :]:
        if int(mark.group(1)) == int(run[-1].group(1)) + 1:
            run.append(mark)
    if len(run) < _MIN_NOTES:
        return [line]
    cuts = [m.start() for m in run]
    pieces = [line[: cuts[0]]]
    pieces += [line[a:b] for a, b in zip(cuts, [*cuts[1:], len(line)], strict=True)]
    return [p.strip() for p in pieces if p.strip()]


def _clean(note: str, max_chars: int) -> str | None:
    note = note.strip().rstrip(":：;,").strip()
    if len(note) < 3 or is_boilerplate(note):
        return None
    return cut_words(note, max_chars) if len(note) > max_chars else note


def show_notes(text: str, *, max_points: int, point_max_chars: int) -> ShowNotes | None:
    """The first run of numbered notes (1, 2, … at least two) as points, else None."""
    lines: list[str] = []
    for line in text.splitlines():
        lines.extend(_split_inline(line) if ")" in line else [line])
    run: list[int] = []  # line indexes of the run being read
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        match = _LINE_NOTE.match(line)
        number = int(match.group(1)) if match else None
        if run and number == len(run) + 1:
            run.append(index)
            continue
        if len(run) >= _MIN_NOTES:
            break  # the first run is the show's list; a later one is a sub-list or prose
        run = [index] if number == 1 else []
    if len(run) < _MIN_NOTES:
        return None
    best = run
    notes = (_LINE_NOTE.match(lines[i]) for i in best)
    points = [p for m in notes if m and (p := _clean(m.group(2), point_max_chars))]
    if len(points) < _MIN_NOTES:
        return None
    taken = set(best)
    prose = "\n".join(line for i, line in enumerate(lines) if i not in taken)
    return ShowNotes(tuple(dict.fromkeys(points))[:max_points], prose)
