"""The global-limit pacer sees every REST request the bot's discord.py client sends.

Paced only around the publisher's own calls, discord.py's resend after a 429 (and every
request it held back while the global limit was over) went out unpaced, all at once: the
next window was over the limit again. Counting, not timing: each request Discord counts
toward the global limit must have waited for a pacer token, and no other.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.runtime.pacer import RatePacer
from bot.storage.models import Feed
from tests.botharness import Clock, answer_text, running_bot
from tests.briefs.helpers import add_story
from tests.fakediscord import FakeDiscord
from tests.fakediscord import permissions as P
from tests.fakediscord.faults import Fault

MESSAGES = "POST /channels/{channel_id}/messages"


class CountingPacer(RatePacer):
    def __init__(self, rate_per_s: float) -> None:
        super().__init__(rate_per_s)
        self.waits = 0

    async def wait(self) -> None:
        self.waits += 1
        await super().wait()


def _counted(path: str) -> bool:
    # Discord exempts interaction callbacks and webhooks (follow-ups) from the global limit.
    return not path.startswith(("/interactions/", "/webhooks/"))


async def test_discordpys_resend_after_a_global_429_waits_for_the_pacer_too(
    fake_discord: FakeDiscord, sqlite_url: str, tmp_path: Path, clock: Clock
) -> None:
    async with running_bot(fake_discord, sqlite_url, tmp_path, clock=clock, migrate=True) as (
        _bot,
        services,
    ):
        pacer = CountingPacer(50)
        services.pacer = pacer
        before = len(fake_discord.requests)
        channel = fake_discord.channel
        record = await fake_discord.interact_command(
            "brief setup",
            {"channel": str(channel.id), "time": "09:00", "timezone": "Europe/Berlin"},
            member_permissions=P.MANAGE_GUILD,
        )
        assert "every day at 09:00" in await answer_text(fake_discord, record)
        async with services.sessions() as s:
            netflix = (await s.execute(select(Feed.id).where(Feed.key == "netflix"))).scalar_one()
        await add_story(services.sessions, netflix, "Data Mesh at Netflix")
        fake_discord.faults.add(
            Fault(status=429, route=MESSAGES, times=1, retry_after=0.05, is_global=True)
        )
        clock.advance(hours=1)
        await services.deliver_tick()

        seen = fake_discord.requests[before:]
        headers = fake_discord.sent(MESSAGES, channel_id=channel.id)
        assert [r.status for r in headers] == [429, 200]  # discord.py resent it itself
        assert any(not _counted(r.path) for r in seen)  # the slash command's answer
        assert pacer.waits == sum(1 for r in seen if _counted(r.path))
