"""What the bot did: every REST request, every violation, every gateway op.

Tests assert on these lists; the fixture fails a test whose requests produced
violations, so a payload Discord would reject cannot pass silently.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SentFile:
    """An attachment uploaded in a multipart request, bytes kept for assertions."""

    field_name: str
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    method: str
    path: str  # concrete path after the API base, e.g. /channels/123/messages
    route: str | None  # template, e.g. "POST /channels/{channel_id}/messages"; None if unknown
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    files: list[SentFile] = field(default_factory=list)
    status: int = 0
    at: float = field(default_factory=time.monotonic)
    deduplicated: bool = False  # a repeated enforce_nonce send answered with the original

    @property
    def channel_id(self) -> int | None:
        cid = self.params.get("channel_id")
        return int(cid) if cid else None

    def _field(self, name: str) -> Any:
        return self.body.get(name) if isinstance(self.body, dict) else None

    @property
    def content(self) -> str | None:
        return self._field("content")

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self._field("embeds") or []

    @property
    def components(self) -> list[dict[str, Any]]:
        return self._field("components") or []

    @property
    def nonce(self) -> str | int | None:
        return self._field("nonce")

    @property
    def enforce_nonce(self) -> bool:
        return bool(self._field("enforce_nonce"))

    @property
    def allowed_mentions(self) -> dict[str, Any] | None:
        return self._field("allowed_mentions")

    @property
    def flags(self) -> int:
        return int(self._field("flags") or 0)


@dataclass(frozen=True)
class Violation:
    """Something real Discord would reject or that breaks its rules."""

    where: str  # e.g. "POST /channels/1/messages"
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


@dataclass
class GatewayLog:
    """Counts and ops seen on the gateway, for connection assertions."""

    identifies: int = 0
    resumes: int = 0
    resumed_ok: int = 0
    heartbeats: int = 0
    connections: int = 0
    invalid_sessions: int = 0
    received_ops: list[int] = field(default_factory=list)
    # The query of each websocket connection (v, encoding, compress), as the client sent it.
    connect_queries: list[dict[str, str]] = field(default_factory=list)
    dispatched: list[str] = field(default_factory=list)


@dataclass
class Recorder:
    requests: list[RecordedRequest] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    gateway: GatewayLog = field(default_factory=GatewayLog)
    rate_limited: list[RecordedRequest] = field(default_factory=list)  # answered with 429

    def violation(self, where: str, message: str) -> None:
        self.violations.append(Violation(where, message))

    def find(
        self, route: str | None = None, *, channel_id: int | None = None
    ) -> list[RecordedRequest]:
        """Requests matching a route template (e.g. "POST /channels/{channel_id}/messages")."""
        return [
            r
            for r in self.requests
            if (route is None or r.route == route)
            and (channel_id is None or r.channel_id == channel_id)
        ]

    def format_violations(self) -> str:
        return "\n".join(f"  - {v}" for v in self.violations)
