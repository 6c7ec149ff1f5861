"""Discord-style rate limits: per-route buckets and the global per-token limit.

Discord answers every request with X-RateLimit-* headers describing the route's
bucket and returns 429 (with JSON retry_after, a `global` flag and
X-RateLimit-Scope) when a bucket or the global 50 req/s is exceeded. discord.py
learns buckets from these headers and waits pre-emptively, so a well-behaved bot
should see few 429s; every 429 is counted so tests and benchmarks can assert that.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field

# Interaction callbacks and interaction webhooks are not subject to the global limit.
GLOBAL_EXEMPT_PREFIXES = ("POST /interactions/", "/webhooks/")


# Closer to Discord's real per-route limits, for benchmarks (pass as route_limits=).
# Only the message-create value (5 per 5 s per channel) is well documented by Discord;
# the others are observed values and may drift.
DISCORD_ROUTE_LIMITS: dict[str, tuple[int, float]] = {
    "POST /channels/{channel_id}/messages": (5, 5.0),
    "PATCH /channels/{channel_id}/messages/{message_id}": (5, 5.0),
    "DELETE /channels/{channel_id}/messages/{message_id}": (5, 1.0),
    "POST /channels/{channel_id}/messages/{message_id}/threads": (10, 10.0),
    "PUT /applications/{application_id}/commands": (2, 60.0),
    "PUT /applications/{application_id}/guilds/{guild_id}/commands": (2, 60.0),
}


@dataclass
class _Window:
    reset_at: float
    used: int = 0


@dataclass(frozen=True)
class Decision:
    allowed: bool
    headers: dict[str, str]
    retry_after: float = 0.0
    is_global: bool = False


@dataclass
class RateLimiter:
    """Fixed windows per (bucket, major parameters) plus a global window.

    Defaults are generous (tests run fast); pass Discord's real values, e.g.
    ``route_limits={"POST /channels/{channel_id}/messages": (5, 5.0)}``, for realism.
    """

    global_limit: int = 50
    global_window: float = 1.0
    default_limit: int = 50
    default_window: float = 1.0
    route_limits: dict[str, tuple[int, float]] = field(default_factory=dict)
    enabled: bool = True
    count_429: int = 0
    count_global_429: int = 0
    _windows: dict[str, _Window] = field(default_factory=dict)
    _global: _Window = field(default_factory=lambda: _Window(0.0))

    def set_route_limit(self, route: str, limit: int, window: float) -> None:
        self.route_limits[route] = (limit, window)

    @staticmethod
    def bucket_hash(route: str) -> str:
        return hashlib.sha1(route.encode()).hexdigest()[:16]

    def check(self, route: str, major: str) -> Decision:
        now = time.monotonic()
        limit, window = self.route_limits.get(route, (self.default_limit, self.default_window))
        bucket = self.bucket_hash(route)
        key = f"{bucket}:{major}"
        win = self._windows.get(key)
        if win is None or now >= win.reset_at:
            win = self._windows[key] = _Window(now + window)
        if self.enabled and not any(p in route for p in GLOBAL_EXEMPT_PREFIXES):
            if now >= self._global.reset_at:
                self._global = _Window(now + self.global_window)
            if self._global.used >= self.global_limit:
                retry = max(self._global.reset_at - now, 0.001)
                self.count_429 += 1
                self.count_global_429 += 1
                return Decision(
                    False, self._headers(limit, win, now, bucket, "global"), retry, True
                )
            self._global.used += 1
        if self.enabled and win.used >= limit:
            retry = max(win.reset_at - now, 0.001)
            self.count_429 += 1
            return Decision(False, self._headers(limit, win, now, bucket, "user"), retry)
        win.used += 1
        return Decision(True, self._headers(limit, win, now, bucket, None))

    @staticmethod
    def _headers(
        limit: int, win: _Window, now: float, bucket: str, scope: str | None
    ) -> dict[str, str]:
        reset_after = max(win.reset_at - now, 0.0)
        headers = {
            "X-RateLimit-Limit": str(limit),
            "X-RateLimit-Remaining": str(max(limit - win.used, 0)),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": bucket,
        }
        if scope is not None:
            headers["X-RateLimit-Scope"] = scope
        if scope == "global":
            headers["X-RateLimit-Global"] = "true"
        return headers
