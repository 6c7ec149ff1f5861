"""Driving the personal commands through the fake Discord, and reading what the bot sent."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.core.search.service import SearchService
from bot.runtime.client import TechbriefBot
from bot.runtime.container import Services
from bot.runtime.extensions import EXTENSIONS
from bot.storage.models import Feed
from tests.botharness import Clock, answer_text, running_bot
from tests.fakediscord import EPHEMERAL, FakeDiscord, InteractionRecord, StoredMessage

# Until the lead adds them to bot/runtime/extensions.py (deduplicated, so either way works).
PERSONAL_EXTENSIONS = tuple(dict.fromkeys((*EXTENSIONS, "cogs.bookmarks", "cogs.search")))
NO_COOLDOWN = {"TECHBRIEF_SEARCH__COOLDOWN_SECONDS": "0"}


def wire_search(services: Services) -> None:
    """Give the services a search service if the composition root does not (yet)."""
    if getattr(services, "search", None) is None:
        setattr(services, "search", SearchService(services.sessions, clock=services.clock))  # noqa: B010


@contextlib.asynccontextmanager
async def personal_bot(
    fake: FakeDiscord,
    db_url: str,
    tmp_path: Path,
    *,
    clock: Clock,
    first_start: bool = True,
    **env: str,
) -> AsyncIterator[tuple[TechbriefBot, Services]]:
    settings = {**NO_COOLDOWN, **env}
    async with running_bot(
        fake,
        db_url,
        tmp_path,
        clock=clock,
        extensions=PERSONAL_EXTENSIONS,
        migrate=first_start,
        with_catalog=first_start,
        **settings,
    ) as (bot, services):
        assert not bot.failed_extensions, bot.failed_extensions
        wire_search(services)
        yield bot, services


async def feed_id(services: Services, key: str) -> int:
    async with services.sessions() as s:
        return int((await s.execute(select(Feed.id).where(Feed.key == key))).scalar_one())


def assert_ephemeral(record: InteractionRecord) -> None:
    """The answer and every follow-up of one interaction are visible to the invoker only."""
    assert record.ephemeral, f"answer is not ephemeral: {record.callback}"
    for message in record.followups:
        assert message.payload["flags"] & EPHEMERAL, f"follow-up not ephemeral: {message.payload}"


async def final_text(fake: FakeDiscord, record: InteractionRecord) -> str:
    text = await answer_text(fake, record)
    assert_ephemeral(record)
    return text


async def shown(fake: FakeDiscord, record: InteractionRecord) -> StoredMessage:
    """The ephemeral message a (deferred) command ended up showing, once it is filled in."""
    assert record.original is not None, record.callback
    original = record.original
    await fake.wait_until(lambda: bool(original.payload.get("embeds")), 5)
    assert original.payload["flags"] & EPHEMERAL
    return original


def buttons(message: StoredMessage | dict[str, Any]) -> list[dict[str, Any]]:
    payload = message.payload if isinstance(message, StoredMessage) else message
    return [c for row in payload.get("components") or [] for c in row["components"]]


def button(message: StoredMessage, label: str) -> dict[str, Any]:
    found = [b for b in buttons(message) if b.get("label") == label]
    assert found, f"no {label!r} button in {buttons(message)}"
    return found[0]


def bookmark_ids(message: StoredMessage | dict[str, Any]) -> list[int]:
    return [
        int(b["custom_id"].removeprefix("tb:bm:"))
        for b in buttons(message)
        if str(b.get("custom_id", "")).startswith("tb:bm:")
    ]


def description(message: StoredMessage) -> str:
    return str(message.payload["embeds"][0].get("description", ""))


def footer(message: StoredMessage) -> str:
    return str(message.payload["embeds"][0].get("footer", {}).get("text", ""))


async def click(
    fake: FakeDiscord, message: StoredMessage, label: str, **kw: Any
) -> InteractionRecord:
    """Press a paginator button and wait until the bot has updated (or answered)."""
    record = await fake.interact_component(button(message, label)["custom_id"], message, **kw)
    await fake.wait_until(
        lambda: bool(record.original_edits or record.followups or record.type == 4), 5
    )
    return record


def file_of(record: InteractionRecord) -> tuple[str, bytes]:
    files = [f for m in record.followups for f in m.files]
    assert len(files) == 1, files
    return files[0].filename, files[0].data


def choices(record: InteractionRecord) -> list[tuple[str, str]]:
    return [(c["name"], str(c["value"])) for c in record.choices]


def dumps(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def end_closed_sessions(fake: FakeDiscord) -> None:
    """Do what Discord does when a bot shuts down: discord.py's close() ends its gateway
    session with close code 1000, which Discord treats as final. The fake keeps such a session
    resumable and would keep routing events (the clicks after a restart) to it."""
    for session in fake.gateway.live_sessions():
        if session.conn is None:
            session.valid = False


async def reply_content(fake: FakeDiscord, record: InteractionRecord) -> str:
    """The text of the bot's (ephemeral) answer as Discord would show it (not JSON-escaped)."""
    await final_text(fake, record)
    if record.followups:
        return str(record.followups[-1].payload.get("content") or "")
    if record.original_edits:
        return str(record.original_edits[-1].get("content") or "")
    return str(record.content or "")
