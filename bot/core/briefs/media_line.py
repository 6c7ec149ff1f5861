"""The line a podcast or video card adds under its summary: what it is, how long, where to play.

"🎧 Podcast · 42 min · [Listen](…)" and "▶️ Video · 1 h 2 min · [Watch](…)": the kind first so
a reader scanning the thread sees at once what needs headphones, the length in the words a
podcast app uses, and the play link last. Every piece but the link is our own text; the link
arrives already checked by the renderer's ``safe_url`` (this module imports no renderer, so
the renderer can import it).
"""

from __future__ import annotations

from bot.core.i18n import N_, Messages

PODCAST, VIDEO = "podcast", "video"
_LABEL = {
    PODCAST: ("🎧", N_("Podcast"), N_("Listen")),
    VIDEO: ("▶️", N_("Video"), N_("Watch")),
}


def duration_text(seconds: int | None, t: Messages | None = None) -> str | None:
    """42 min, 1 h 2 min, 2 h, 45 s (in the channel's language); None when unknown."""
    if seconds is None or seconds <= 0:
        return None
    t = t or Messages.english()
    if seconds < 60:
        return t.gettext("{seconds} s", seconds=seconds)
    minutes = (seconds + 30) // 60  # to the nearest minute
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return t.gettext("{minutes} min", minutes=minutes)
    if not minutes:
        return t.gettext("{hours} h", hours=hours)
    return t.gettext("{hours} h {minutes} min", hours=hours, minutes=minutes)


def kind_mark(kind: str) -> str:
    """The emoji that marks an episode in a list ("" for an article)."""
    label = _LABEL.get(kind)
    return label[0] if label else ""


def media_line(
    kind: str, duration_s: int | None, play_url: str | None, t: Messages | None = None
) -> str | None:
    """The card's media line, or None for an article. ``play_url`` must already be safe."""
    label = _LABEL.get(kind)
    if label is None:
        return None
    t = t or Messages.english()
    mark, name, verb = label
    parts = [f"{mark} {t.gettext(name)}"]
    length = duration_text(duration_s, t)
    if length:
        parts.append(length)
    if play_url:
        parts.append(f"[{t.gettext(verb)}]({play_url})")
    return " · ".join(parts)
