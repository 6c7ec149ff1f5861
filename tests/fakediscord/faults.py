"""Injected failures: error statuses, forced 429s and slow answers, per route or channel.

A rule matches a request by route template ("POST /channels/{channel_id}/messages",
or just the path part to match any method) and/or channel id, fires ``times`` times
(None = forever), and either delays the answer or replaces it with an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Discord error codes for the common cases (JSON error code, message).
MISSING_ACCESS = (50001, "Missing Access")
MISSING_PERMISSIONS = (50013, "Missing Permissions")
UNKNOWN_CHANNEL = (10003, "Unknown Channel")
UNKNOWN_MESSAGE = (10008, "Unknown Message")
UNKNOWN_INTERACTION = (10062, "Unknown interaction")
UNKNOWN_WEBHOOK = (10015, "Unknown Webhook")


@dataclass
class Fault:
    status: int | None = None  # None = only delay
    code: int = 0
    message: str = ""
    route: str | None = None
    channel_id: int | None = None
    delay: float = 0.0
    times: int | None = None
    retry_after: float = 0.5  # for status 429
    is_global: bool = False  # for status 429
    fired: int = 0

    def matches(self, route: str, channel_id: int | None) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.channel_id is not None and self.channel_id != channel_id:
            return False
        if self.route is not None:
            path_only = route.split(" ", 1)[1]
            if self.route not in (route, path_only):
                return False
        return True


@dataclass
class Faults:
    rules: list[Fault] = field(default_factory=list)

    def add(self, fault: Fault) -> Fault:
        self.rules.append(fault)
        return fault

    def clear(self) -> None:
        self.rules.clear()

    def match(self, route: str, channel_id: int | None) -> list[Fault]:
        """All rules that fire for this request (delays add up; the first error wins)."""
        fired = [rule for rule in self.rules if rule.matches(route, channel_id)]
        for rule in fired:
            rule.fired += 1
        return fired

    # Convenience constructors for the usual cases --------------------------------
    def forbid_channel(self, channel_id: int, *, times: int | None = None) -> Fault:
        """403 Missing Access (50001) for every request on the channel."""
        code, msg = MISSING_ACCESS
        return self.add(Fault(403, code, msg, channel_id=channel_id, times=times))

    def unknown_channel(self, channel_id: int, *, times: int | None = None) -> Fault:
        """404 Unknown Channel (10003), as after the channel was deleted."""
        code, msg = UNKNOWN_CHANNEL
        return self.add(Fault(404, code, msg, channel_id=channel_id, times=times))

    def server_error(
        self,
        route: str | None = None,
        *,
        status: int = 500,
        times: int | None = 1,
        channel_id: int | None = None,
    ) -> Fault:
        """5xx; note discord.py retries 500/502/504 after 1 s, 3 s, ... so keep times small."""
        return self.add(
            Fault(
                status, 0, "Internal Server Error", route=route, channel_id=channel_id, times=times
            )
        )

    def rate_limit(
        self,
        route: str | None = None,
        *,
        retry_after: float = 0.2,
        times: int | None = 1,
        is_global: bool = False,
        channel_id: int | None = None,
    ) -> Fault:
        """A forced 429 with ``retry_after`` seconds, bucket or global scope."""
        return self.add(
            Fault(
                429,
                0,
                "You are being rate limited.",
                route=route,
                channel_id=channel_id,
                times=times,
                retry_after=retry_after,
                is_global=is_global,
            )
        )

    def slow(
        self,
        route: str | None = None,
        *,
        delay: float,
        times: int | None = None,
        channel_id: int | None = None,
    ) -> Fault:
        """Answer normally but only after ``delay`` seconds."""
        return self.add(Fault(None, route=route, channel_id=channel_id, delay=delay, times=times))
