"""A token bucket in front of Discord's global limit (50 requests/s per bot token).

discord.py learns per-route buckets from headers, but it only discovers the global limit by
hitting it; with many sends in flight that is a 429 storm. Pacing below the limit avoids it.

The pacer sits in discord.py's HTTP session (an aiohttp trace hook, see bot.runtime.client),
not in front of our own calls: every request the process makes then waits its turn, including
the ones we never see — discord.py's resend after a 429 and whatever its models fetch. Paced
only around our calls, a global 429 made discord.py hold every request back until the window
reset and then let the held ones and its resends go at once, past the limit again.
"""

from __future__ import annotations

import asyncio
import time

from yarl import URL

# A sender woken a little late may still use the slot it missed, instead of every late wake
# costing the rest of the fan-out that much throughput; any second then holds at most
# rate + BURST requests, which the rate setting's ceiling keeps below Discord's 50.
BURST = 2


def counts_toward_global_limit(url: URL) -> bool:
    """REST calls count; interaction callbacks and webhooks (a slash command's answer and
    follow-ups) are exempt on Discord, and the gateway's websocket is not REST at all."""
    path = url.path
    return "/api/" in path and "/interactions/" not in path and "/webhooks/" not in path


class RatePacer:
    def __init__(self, rate_per_s: float, burst: int | None = None) -> None:
        self.rate = rate_per_s
        # A burst would break the global limit at start-up; smooth pacing is the point.
        self.capacity = float(burst if burst is not None else 1)
        self._tokens = self.capacity
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)
