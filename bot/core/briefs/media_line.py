"""The line a podcast or video card adds under its summary: what it is, how long, where to play.

"🎧 Podcast · 42 min · [Listen](…)" and "▶️ Video · 1 h 2 min · [Watch](…)": the kind first so
a reader scanning the thread sees at once what needs headphones, the length in the words a
podcast app uses, and the play link last. Every piece but the link is our own text; the link
arrives already checked by the renderer's ``safe_url`` (this module imports no renderer, so
the renderer can import it).
"""

from __future__ import annotations

PODCAST, VIDEO = "podcast", "video"
_LABEL = {PODCAST: ("🎧", "Podcast", "Listen"), VIDEO: ("▶️", "Video", "Watch")}


def duration_text(seconds: int | None) -> str | None:
    """42 min, 1 h 2 min, 2 h, 45 s; None when unknown (or nonsense)."""
    if seconds is None or seconds <= 0:
        return None
    if seconds < 60:
        return f"{seconds} s"
    minutes = (seconds + 30) // 60  # to the nearest minute
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def kind_mark(kind: str) -> str:
    """The emoji that marks an episode in a list ("" for an article)."""
    label = _LABEL.get(kind)
    return label[0] if label else ""


def media_line(kind: str, duration_s: int | None, play_url: str | None) -> str | None:
    """The card's media line, or None for an article. ``play_url`` must already be safe."""
    label = _LABEL.get(kind)
    if label is None:
        return None
    mark, name, verb = label
    parts = [f"{mark} {name}"]
    length = duration_text(duration_s)
    if length:
        parts.append(length)
    if play_url:
        parts.append(f"[{verb}]({play_url})")
    return " · ".join(parts)
