"""Bookkeeping for interactions the fake pushed: when, and what the bot answered."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from .state import StoredMessage

EPHEMERAL = 64
LOADING = 128

# Callback types (Discord's numbering)
PONG = 1
CHANNEL_MESSAGE_WITH_SOURCE = 4
DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE = 5
DEFERRED_UPDATE_MESSAGE = 6
UPDATE_MESSAGE = 7
AUTOCOMPLETE_RESULT = 8
MODAL = 9

# Discord rejects a first response after 3 s and any follow-up after 15 min.
RESPONSE_WINDOW = 3.0
TOKEN_LIFETIME = 15 * 60.0


@dataclass(eq=False)
class InteractionRecord:
    """One pushed interaction and everything the bot did with it."""

    payload: dict[str, Any]
    pushed_at: float = field(default_factory=time.monotonic)
    callback_at: float | None = None
    callback: dict[str, Any] | None = None  # the full callback body ({"type", "data"})
    original: StoredMessage | None = None
    followups: list[StoredMessage] = field(default_factory=list)
    original_edits: list[dict[str, Any]] = field(default_factory=list)
    answered: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def id(self) -> int:
        return int(self.payload["id"])

    @property
    def token(self) -> str:
        return str(self.payload["token"])

    @property
    def elapsed(self) -> float | None:
        """Seconds from pushing INTERACTION_CREATE to receiving the callback."""
        return None if self.callback_at is None else self.callback_at - self.pushed_at

    @property
    def type(self) -> int | None:
        return None if self.callback is None else int(self.callback.get("type", 0))

    @property
    def data(self) -> dict[str, Any]:
        return (self.callback or {}).get("data") or {}

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def content(self) -> str | None:
        return self.data.get("content")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.data.get("embeds") or []

    @property
    def modal(self) -> dict[str, Any] | None:
        """The form the bot opened (callback type 9), or None."""
        return self.data if self.type == MODAL else None

    @property
    def choices(self) -> list[dict[str, Any]]:
        """Autocomplete result choices."""
        return self.data.get("choices") or []

    @property
    def final_message(self) -> dict[str, Any] | None:
        """The original response as it stands now (after deferral edits)."""
        return None if self.original is None else self.original.payload
