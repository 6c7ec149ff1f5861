"""Sends the outbox to Discord: exactly once per channel, resumable message by message.

Every message carries a deterministic nonce (delivery id + index) with enforce_nonce, so a
resend after a crash between "sent" and "recorded" is deduplicated by Discord itself. 403/404
pause the channel's subscription and tell the guild once; they are never retried in a loop.
5xx is retried with backoff; 429 is discord.py's rate limiter's business. The bot paces its
Discord client's every request (bot.runtime.pacer); ``pacer`` here is for a bare HTTPClient
without that hook (bench.fanout).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import discord
from discord.http import HTTPClient, Route
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from bot.core.briefs.render import MessageSpec
from bot.runtime.forum_posts import ForumPosts
from bot.runtime.metrics import Metrics
from bot.runtime.pacer import RatePacer
from bot.storage.deliveries_repo import DeliveriesRepository
from bot.storage.models import Delivery
from bot.storage.subscriptions_repo import SubscriptionsRepository

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
THREAD_ALREADY_CREATED = 160004
NO_MENTIONS: dict[str, list[str]] = {"parse": []}


def nonce_for(delivery_id: int, index: int) -> str:
    return f"tb{delivery_id}.{index}"[:25]


class LeaseLost(Exception):
    """Another sender took this delivery over (our lease expired): stop touching it."""


class ChannelGone(Exception):
    """403/404 on the channel itself: the subscription must pause."""


class PostGone(Exception):
    """A brief's forum post went away mid-delivery: the rest has nowhere to go."""


def mentions_of(spec: MessageSpec) -> dict[str, Any]:
    """Nobody, unless planning allowed one role for this message (a brief's ping line)."""
    allowed = spec.allowed_mentions or {}
    roles = [str(int(r)) for r in allowed.get("roles") or []][:1]
    return {"parse": [], "roles": roles} if roles else NO_MENTIONS


class Publisher:
    def __init__(
        self,
        http: Callable[[], HTTPClient],
        outbox: DeliveriesRepository,
        subscriptions: SubscriptionsRepository,
        metrics: Metrics,
        clock: Callable[[], datetime],
        *,
        owner: str,
        workers: int = 16,
        pacer: RatePacer | None = None,
        lease_seconds: float = 90,
        may_send: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._may_send = may_send
        self._http = http
        self._repo = outbox
        self._subs = subscriptions
        self._metrics = metrics
        self._clock = clock
        self._owner = owner
        self._workers = workers
        self._pacer = pacer
        self._lease = timedelta(seconds=lease_seconds)
        self._inflight: set[asyncio.Task[int]] = set()
        self._stopping = False
        self._forums = ForumPosts(self._request)

    async def run_once(self, limit: int = 100_000) -> int:
        """Send what is due now; returns how many deliveries were attempted.

        Each worker leases one delivery at a time, so a lease is only ever held by a row
        that is actually being sent (and renewed with every message it records): a long
        fan-out can never outlive the leases of rows still waiting in a queue.
        """
        if self._stopping:
            return 0
        budget = [limit]
        tasks = [
            asyncio.create_task(self._worker(f"{self._owner}#{n}", budget))
            for n in range(self._workers)
        ]
        self._inflight.update(tasks)
        for task in tasks:
            task.add_done_callback(self._inflight.discard)
        done = await asyncio.gather(*tasks, return_exceptions=True)
        return sum(n for n in done if isinstance(n, int))

    async def drain(self) -> None:
        """Stop leasing new deliveries and let the ones in flight finish."""
        self._stopping = True
        if self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def _worker(self, owner: str, budget: list[int]) -> int:
        """One sender: its own lease name, so workers of one process never share a row."""
        attempted = 0
        while not self._stopping and budget[0] > 0:
            if self._may_send is not None and not await self._may_send():
                log.warning("not the sender any more: stopping deliveries")
                return attempted
            budget[0] -= 1
            rows = await self._repo.lease_deliveries(
                self._clock(), owner, lease_seconds=self._lease.total_seconds(), limit=1
            )
            if not rows:
                return attempted
            attempted += 1
            try:
                await self.deliver(rows[0])
            except LeaseLost:
                log.warning(
                    "lost the lease of a delivery; another sender has it",
                    extra={"delivery": rows[0].id},
                )
            except Exception:
                log.exception("delivery failed unexpectedly", extra={"delivery": rows[0].id})
                await self._repo.retry_later(
                    rows[0].id,
                    self._clock() + timedelta(minutes=5),
                    "unexpected error",
                    owner=owner,
                )
        return attempted

    async def _request(self, route: Route, **kw: Any) -> Any:
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(3),
            wait=wait_exponential_jitter(multiplier=0.5, max=4),
            retry=retry_if_exception_type(discord.DiscordServerError),
            reraise=True,
        ):
            with attempt:
                if self._pacer is not None:
                    await self._pacer.wait()
                return await self._http().request(route, **kw)
        raise AssertionError("unreachable")

    async def _send(self, channel_id: int, spec: MessageSpec, nonce: str) -> int:
        payload: dict[str, Any] = {
            "embeds": list(spec.embeds),
            "components": list(spec.components),
            "nonce": nonce,
            "enforce_nonce": True,
            "allowed_mentions": mentions_of(spec),
        }
        if spec.content:
            payload["content"] = spec.content
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)
        data = await self._request(route, json=payload)
        return int(data["id"])

    async def _thread(self, channel_id: int, message_id: int, name: str) -> int | None:
        route = Route(
            "POST",
            "/channels/{channel_id}/messages/{message_id}/threads",
            channel_id=channel_id,
            message_id=message_id,
        )
        try:
            data = await self._request(route, json={"name": name, "auto_archive_duration": 1440})
        except discord.DiscordServerError:
            raise  # Discord is having trouble: the delivery is retried later
        except discord.HTTPException as exc:
            if exc.code == THREAD_ALREADY_CREATED:
                return message_id  # a thread started from a message shares its id
            # No thread permission, too many active threads, archived parent...: a brief
            # without a thread is still a brief, so the stories follow in the channel.
            log.info(
                "no thread for a brief",
                extra={"channel_id": channel_id, "status": exc.status, "code": exc.code},
            )
            return None
        return int(data["id"])

    async def deliver(self, row: Delivery) -> None:
        payload = row.payload
        specs: list[tuple[str, MessageSpec]] = []
        if payload.get("header"):
            specs.append(("header", MessageSpec.from_dict(payload["header"])))
        specs += [("batch", MessageSpec.from_dict(b)) for b in payload.get("batches", [])]
        thread_id = row.thread_id
        forum = bool(payload.get("forum")) and bool(specs) and specs[0][0] == "header"
        wants_thread = not forum and bool(payload.get("thread_name")) and len(specs) > 1
        try:
            for index, (kind, spec) in enumerate(specs):
                if index < row.progress:
                    continue
                if forum and kind == "header":
                    thread_id = await self._forum_post(row, spec)
                    self._metrics.messages_sent.labels(kind=row.kind).inc()
                    continue
                if kind == "batch" and wants_thread and thread_id is None and row.message_ids:
                    # Resuming after the header went out: start (or find) its thread first.
                    thread_id = await self._start_thread(row, int(row.message_ids[0]))
                target = row.channel_id if kind == "header" or thread_id is None else thread_id
                try:
                    message_id = await self._send(target, spec, nonce_for(row.id, index))
                except (discord.Forbidden, discord.NotFound) as exc:
                    if forum:
                        raise PostGone(_reason(exc)) from exc
                    if target != row.channel_id:
                        # The thread went away: the rest of the brief goes to the channel.
                        thread_id = None
                        message_id = await self._send(
                            row.channel_id, spec, nonce_for(row.id, index)
                        )
                    else:
                        raise ChannelGone(_reason(exc)) from exc
                # Recorded before anything else can fail, so a retry never re-posts it.
                await self._progress(row, index + 1, message_id)
                row.progress = index + 1
                row.message_ids = [*row.message_ids, str(message_id)]
                self._metrics.messages_sent.labels(kind=row.kind).inc()
                if kind == "header" and wants_thread:
                    thread_id = await self._start_thread(row, message_id)
        except ChannelGone as exc:
            await self._pause(row, str(exc))
            return
        except PostGone as exc:
            # Someone deleted or locked the post: the stories cannot follow it anywhere.
            await self._repo.finish(
                row.id, "dead", self._clock(), f"forum post gone: {exc}", owner=self._lease_of(row)
            )
            return
        except discord.DiscordServerError as exc:
            await self._later(row, f"Discord error {exc.status}")
            return
        except discord.HTTPException as exc:
            # A 4xx other than 403/404 means the payload itself is wrong: retrying cannot help.
            log.error(
                "Discord refused a message",
                extra={"delivery": row.id, "status": exc.status, "code": exc.code},
            )
            await self._repo.finish(
                row.id,
                "dead",
                self._clock(),
                f"{exc.status}: {exc.text}",
                owner=self._lease_of(row),
            )
            return
        except (TimeoutError, OSError) as exc:
            await self._later(row, f"network error: {type(exc).__name__}")
            return
        await self._repo.finish(row.id, "sent", self._clock(), owner=self._lease_of(row))

    async def _progress(
        self, row: Delivery, progress: int, message_id: int | None, thread_id: int | None = None
    ) -> None:
        kept = await self._repo.record_progress(
            row.id,
            owner=self._lease_of(row),
            progress=progress,
            message_id=message_id,
            thread_id=thread_id,
            lease_until=self._clock() + self._lease,
        )
        if not kept:
            raise LeaseLost(row.id)

    async def _start_thread(self, row: Delivery, header_id: int) -> int | None:
        thread_id = await self._thread(row.channel_id, header_id, row.payload["thread_name"])
        if thread_id is not None:
            await self._progress(row, row.progress, None, thread_id)
        return thread_id

    async def _forum_post(self, row: Delivery, header: MessageSpec) -> int:
        """Create the brief's forum post once (or find the one a crashed attempt made) and
        record it as the delivery's thread; returns the post's id."""
        try:
            forum = await self._forums.forum(row.channel_id)
            name = str(row.payload.get("post_name") or row.payload.get("thread_name") or "")
            found = None
            if row.post_requested_at is not None:
                taken = await self._repo.threads_in_use(row.channel_id)
                found = await self._forums.find(forum, name, taken)
            if found is None:
                if not await self._repo.mark_post_requested(
                    row.id, owner=self._lease_of(row), now=self._clock()
                ):
                    raise LeaseLost(row.id)
                message: dict[str, Any] = {
                    "embeds": list(header.embeds),
                    "components": list(header.components),
                    "allowed_mentions": mentions_of(header),
                }
                if header.content:
                    message["content"] = header.content
                found = await self._forums.create(forum, name, message)
        except (discord.Forbidden, discord.NotFound) as exc:
            raise ChannelGone(_reason(exc)) from exc
        # A forum post's first message shares the post's id.
        await self._progress(row, 1, found, found)
        row.progress = 1
        row.message_ids = [*row.message_ids, str(found)]
        row.thread_id = found
        return found

    @staticmethod
    def _lease_of(row: Delivery) -> str:
        return row.lease_owner or ""

    async def _later(self, row: Delivery, error: str) -> None:
        if row.attempts + 1 >= MAX_ATTEMPTS:
            await self._repo.finish(row.id, "dead", self._clock(), error, owner=self._lease_of(row))
            return
        delay = min(30 * 2**row.attempts, 3600) * random.uniform(0.8, 1.2)
        await self._repo.retry_later(
            row.id, self._clock() + timedelta(seconds=delay), error, owner=self._lease_of(row)
        )

    async def _pause(self, row: Delivery, reason: str) -> None:
        now = self._clock()
        if not await self._repo.finish(row.id, "paused", now, reason, owner=self._lease_of(row)):
            return
        first = await self._subs.pause(row.channel_id, reason, now)
        log.warning("channel paused", extra={"channel_id": row.channel_id, "reason": reason})
        if first and row.subscription_id is not None:
            await self._tell_guild(row, reason)

    async def _tell_guild(self, row: Delivery, reason: str) -> None:
        sub = await self._subs.get(row.channel_id)
        if sub is None:
            return
        system = await self._subs.system_channel(sub.guild_id)
        if system is None or system == row.channel_id:
            return
        text = (
            f"techbrief cannot post in <#{row.channel_id}> ({reason}), so its briefs are "
            "paused. Give me View Channel, Send Messages and Embed Links there, then run "
            "`/brief setup` in that channel again. `/brief status` shows the details."
        )
        try:
            await self._send(system, MessageSpec(content=text), f"tbp{row.id}"[:25])
        except discord.HTTPException:
            log.info("could not tell the guild about the pause", extra={"guild": sub.guild_id})


def _reason(exc: discord.HTTPException) -> str:
    if isinstance(exc, discord.NotFound):
        return "the channel no longer exists (404 Unknown Channel)"
    return f"missing access to the channel (403: {exc.text or 'Forbidden'})"
