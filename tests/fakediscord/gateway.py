"""The gateway websocket: HELLO, IDENTIFY/READY/GUILD_CREATE, heartbeats, RESUME with
replay, server-initiated RECONNECT / INVALID_SESSION and abrupt drops.

Sessions outlive connections: dispatches pushed while a session has no socket (it was
dropped) are kept in its history and replayed on RESUME, as Discord does.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from .recorder import Recorder
from .state import World

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT = 0, 1, 2, 6, 7
REQUEST_MEMBERS, INVALID_SESSION, HELLO, HEARTBEAT_ACK = 8, 9, 10, 11
GUILD_MESSAGES_INTENT = 1 << 9
REPLAY_MAX = 50_000

try:  # discord.py asks for zstd-stream when zstandard is importable (same venv as us)
    import zstandard as _zstd
except ImportError:  # pragma: no cover - depends on the environment
    _zstd = None


class _Encoder:
    """Transport compression as requested by the `compress` query parameter."""

    def __init__(self, mode: str | None) -> None:
        self.mode = mode
        self._zlib = zlib.compressobj() if mode == "zlib-stream" else None
        self._zstd = (
            _zstd.ZstdCompressor().compressobj() if mode == "zstd-stream" and _zstd else None
        )

    def encode(self, text: str) -> str | bytes:
        if self._zlib is not None:
            # One shared stream; Z_SYNC_FLUSH ends each message with 00 00 ff ff, which
            # is exactly what discord.py waits for before inflating.
            return self._zlib.compress(text.encode()) + self._zlib.flush(zlib.Z_SYNC_FLUSH)
        if self._zstd is not None:
            return self._zstd.compress(text.encode()) + self._zstd.flush(
                _zstd.COMPRESSOBJ_FLUSH_BLOCK
            )
        # No (supported) compression: TEXT frames, which discord.py accepts as-is.
        return text


@dataclass(eq=False)  # identity semantics: kept in a set
class Connection:
    ws: web.WebSocketResponse
    request: web.Request
    encoder: _Encoder
    # The compression stream is stateful: frames must hit the wire in encoding order
    # even when the handler task and a test push events concurrently.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, payload: dict[str, Any]) -> None:
        async with self.lock:
            data = self.encoder.encode(json.dumps(payload, separators=(",", ":")))
            if isinstance(data, bytes):
                await self.ws.send_bytes(data)
            else:
                await self.ws.send_str(data)

    def abort(self) -> None:
        # Kill the TCP connection without a close frame: what a network failure looks like.
        transport = self.request.transport
        if transport is not None:
            transport.abort()


@dataclass
class Session:
    session_id: str
    shard_id: int
    shard_count: int
    intents: int
    seq: int = 0
    # Replay buffer for RESUME; bounded like Discord's, so long benchmarks stay small.
    history: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=REPLAY_MAX))
    conn: Connection | None = None
    valid: bool = True

    def owns_guild(self, guild_id: int) -> bool:
        return (guild_id >> 22) % self.shard_count == self.shard_id


class Gateway:
    def __init__(
        self,
        world: World,
        recorder: Recorder,
        token: str,
        ws_url: Callable[[], str],
        heartbeat_interval_ms: int = 41250,
    ) -> None:
        self.world = world
        self.recorder = recorder
        self.token = token
        self._ws_url = ws_url
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.sessions: dict[str, Session] = {}
        self._connections: set[Connection] = set()
        self.on_op: list[Callable[[dict[str, Any]], None]] = []
        # Cleared by hold(): new websocket handshakes wait, like a gateway that is down.
        self._accepting = asyncio.Event()
        self._accepting.set()

    # -- websocket handler -------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        await self._accepting.wait()
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws, request, _Encoder(request.query.get("compress")))
        self._connections.add(conn)
        self.recorder.gateway.connections += 1
        self.recorder.gateway.connect_queries.append(dict(request.query))
        session: Session | None = None
        try:
            await conn.send({"op": HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                payload = json.loads(msg.data)
                op = payload.get("op")
                self.recorder.gateway.received_ops.append(op)
                for hook in list(self.on_op):
                    hook(payload)
                session = await self._on_message(conn, session, op, payload.get("d"))
        except (ConnectionResetError, RuntimeError):
            pass  # the socket died under us: same as a drop
        finally:
            self._connections.discard(conn)
            if session is not None and session.conn is conn:
                session.conn = None
                # A client that closes normally (1000/1001) ends its session, as on Discord;
                # later dispatches must not queue up for a client that is gone for good.
                if ws.close_code in (1000, 1001):
                    session.valid = False
        return ws

    async def _on_message(
        self, conn: Connection, session: Session | None, op: Any, d: Any
    ) -> Session | None:
        if op == HEARTBEAT:
            self.recorder.gateway.heartbeats += 1
            await conn.send({"op": HEARTBEAT_ACK})
        elif op == IDENTIFY:
            if d.get("token") != self.token:
                self.recorder.violation("gateway IDENTIFY", "wrong token (closed with 4004)")
                await conn.ws.close(code=4004, message=b"Authentication failed.")
                return session
            self.recorder.gateway.identifies += 1
            return await self._identify(conn, d)
        elif op == RESUME:
            self.recorder.gateway.resumes += 1
            return await self._resume(conn, d)
        elif op == REQUEST_MEMBERS:
            await self._members_chunk(session, d)
        return session

    async def _identify(self, conn: Connection, d: dict[str, Any]) -> Session:
        shard_id, shard_count = d.get("shard") or [0, 1]
        session = Session(secrets.token_hex(16), shard_id, shard_count, int(d.get("intents", 0)))
        session.conn = conn
        self.sessions[session.session_id] = session
        guilds = [g for g in self.world.guilds.values() if session.owns_guild(g.id)]
        ready = {
            "v": 10,
            "user": self.world.bot.payload() | {"verified": True, "mfa_enabled": False},
            "guilds": [{"id": str(g.id), "unavailable": True} for g in guilds],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self._ws_url(),
            "shard": [shard_id, shard_count],
            "application": {"id": str(self.world.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": [],
            "user_settings": {},
            "_trace": ["fakediscord"],
        }
        await self.dispatch_to(session, "READY", ready)
        for guild in guilds:
            await self.dispatch_to(session, "GUILD_CREATE", guild.payload(self.world.bot))
        return session

    async def _resume(self, conn: Connection, d: dict[str, Any]) -> Session | None:
        session = self.sessions.get(d.get("session_id") or "")
        last = int(d.get("seq") or 0)
        too_old = (
            session is not None and bool(session.history) and (last < session.history[0]["s"] - 1)
        )
        if session is None or not session.valid or d.get("token") != self.token or too_old:
            self.recorder.gateway.invalid_sessions += 1
            await conn.send({"op": INVALID_SESSION, "d": False})
            return None
        if session.conn is not None and session.conn is not conn:
            session.conn.abort()  # Discord drops the old socket of a resumed session
        session.conn = conn
        for event in session.history:
            if event["s"] > last:
                await conn.send(event)
        await self.dispatch_to(session, "RESUMED", {"_trace": ["fakediscord"]})
        self.recorder.gateway.resumed_ok += 1
        return session

    async def _members_chunk(self, session: Session | None, d: dict[str, Any]) -> None:
        # discord.py chunks guilds when the members intent is on; answer so it never waits.
        if session is None:
            return
        guild = self.world.guilds.get(int(d.get("guild_id", 0)))
        if guild is None:
            return
        await self.dispatch_to(
            session,
            "GUILD_MEMBERS_CHUNK",
            {
                "guild_id": str(guild.id),
                "members": [m.payload() for m in guild.members.values()],
                "chunk_index": 0,
                "chunk_count": 1,
                "not_found": [],
                "nonce": d.get("nonce"),
            },
        )

    # -- pushing events -----------------------------------------------------------------
    async def dispatch_to(self, session: Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        payload = {"op": DISPATCH, "t": event, "s": session.seq, "d": data}
        session.history.append(payload)
        self.recorder.gateway.dispatched.append(event)
        if session.conn is not None:
            try:
                await session.conn.send(payload)
            except (ConnectionResetError, RuntimeError):
                session.conn = None  # kept in history; replayed on RESUME

    def live_sessions(self) -> list[Session]:
        return [s for s in self.sessions.values() if s.valid]

    def session_for_guild(self, guild_id: int | None) -> Session:
        sessions = self.live_sessions()
        if not sessions:
            raise RuntimeError("no gateway session: the bot has not identified yet")
        if guild_id is None:
            return sessions[0]
        for session in sessions:
            if session.owns_guild(guild_id):
                return session
        # As on Discord: an event of a guild goes to its shard's socket, or nowhere.
        raise RuntimeError(f"no gateway session owns the shard of guild {guild_id}")

    async def dispatch(
        self, event: str, data: dict[str, Any], *, guild_id: int | None = None
    ) -> None:
        """Push a dispatch to the shard owning ``guild_id`` (all sessions when None)."""
        targets = (
            [self.session_for_guild(guild_id)] if guild_id is not None else self.live_sessions()
        )
        for session in targets:
            await self.dispatch_to(session, event, data)

    # -- server-initiated disruptions ---------------------------------------------------
    def _targets(self, shard_id: int | None) -> list[Session]:
        return [
            s
            for s in self.live_sessions()
            if s.conn is not None and (shard_id is None or s.shard_id == shard_id)
        ]

    async def drop(self, shard_id: int | None = None) -> int:
        """Abruptly cut the socket(s); discord.py must RESUME. Returns how many were cut."""
        targets = self._targets(shard_id)
        for session in targets:
            assert session.conn is not None
            session.conn.abort()
            session.conn = None
        return len(targets)

    def hold(self) -> None:
        """Leave new connections hanging in the handshake (open ones keep working)."""
        self._accepting.clear()

    def release(self) -> None:
        self._accepting.set()

    async def request_reconnect(self, shard_id: int | None = None) -> None:
        """Send op 7 RECONNECT; discord.py closes and resumes."""
        for session in self._targets(shard_id):
            assert session.conn is not None
            await session.conn.send({"op": RECONNECT, "d": None})

    async def invalidate_session(
        self, shard_id: int | None = None, *, resumable: bool = False
    ) -> None:
        """Send op 9; with resumable=False discord.py must IDENTIFY again."""
        for session in self._targets(shard_id):
            assert session.conn is not None
            if not resumable:
                session.valid = False
            self.recorder.gateway.invalid_sessions += 1
            await session.conn.send({"op": INVALID_SESSION, "d": resumable})

    async def close_all(self) -> None:
        self.release()  # a held handshake must not keep the server from stopping
        for conn in list(self._connections):
            await conn.ws.close(code=1001)
        for session in self.sessions.values():
            session.valid = False
