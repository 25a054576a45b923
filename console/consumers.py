"""The console socket: one per browser tab, authenticated by the session.

Close codes: 4401 not logged in, 4403 no console role, also when the session
ends (logout) or the role is taken away while the socket is open (checked
every ``CONSOLE["RECHECK_SECONDS"]``). Browser origins are checked by
``AllowedHostsOriginValidator`` in console/routing.py.

Client → server (JSON text frames):
  {"op": "watch", "feeds": ["overview", ...]}   sampled figures (one snapshot)
  {"op": "unwatch"}
  {"op": "tail", "id": "t1", "topic": "orders", "partitions": [0, 1] | null,
   "types": ["order.*"] | null, "key": null, "subject": null,
   "from": "latest" | {"0": "<id>", ...}}
  {"op": "untail", "id": "t1"}
Server → client: "sample" (full snapshot, then RFC 7386 patches), "tail",
"tail-gap", "tail-error", "tailing", "untailed" and "error" frames. A
malformed message gets an "error" frame; the socket stays open.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError

from console.feed.link import HIGH_WATER, Link
from console.roles import Role, role_of
from console.sampler import SAMPLER
from console.tails import MAX_TAILS, Tail, TailError, TailSpec, parse_tail
from eventbus.exceptions import BusError
from eventbus.topics import get_topic

NOT_LOGGED_IN = 4401
NO_ROLE = 4403
MAX_MESSAGE = 16 * 1024  # client messages are small requests, never data
OPS = ("watch", "unwatch", "tail", "untail")


class DashboardConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Push sampled figures, alerts and live tails to one console tab."""

    role: Role = Role.NONE
    # No channel layer: samples and tails fan out in process (FIELD-NOTES).
    # With the default layer every socket would hold its own BRPOP on Redis,
    # and a read timeout there (a busy event loop) closed the socket with
    # 1011 in bench/console.py. An alias that names no layer gives None.
    channel_layer_alias = "console-sockets-use-no-layer"

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.role = await database_sync_to_async(role_of)(user)
        self.tails: dict[str, Tail] = {}
        self.watching = False
        self.gone = asyncio.Event()
        # What the console sees of the socket's transport (under Daphne).
        self.link = Link(self.base_send)
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_LOGGED_IN)
            return
        if self.role < Role.VIEWER:
            await self.close(code=NO_ROLE)
            return
        await self.accept()
        self.recheck = asyncio.get_running_loop().create_task(self._recheck())

    async def _recheck(self) -> None:
        """Close the socket once its session or console role is gone."""
        while not self.gone.is_set():
            await asyncio.sleep(recheck_seconds())
            try:
                code, self.role = await database_sync_to_async(_access)(self.scope)
            except DatabaseError:
                continue  # the banner says the database is down; keep serving
            if code is not None:
                await self.close(code=code)
                return

    async def _drain(self) -> None:
        """Wait while Daphne holds a backlog for this socket (a slow browser)."""
        await self.link.drain(self.gone)

    def backed_up(self) -> bool:
        """Return whether Daphne holds a backlog for this socket (a slow browser)."""
        return self.link.backlog() > HIGH_WATER

    async def disconnect(self, code: int) -> None:
        self.gone.set()
        recheck = getattr(self, "recheck", None)
        if recheck is not None:
            recheck.cancel()
        if getattr(self, "watching", False):
            await SAMPLER.unwatch(self)
        for tail in getattr(self, "tails", {}).values():
            tail.close()
        self.tails = {}

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None, **_: Any
    ) -> None:
        if text_data is None:
            await self.error("Send JSON text frames, not binary ones.")
            return
        if len(text_data) > MAX_MESSAGE:
            await self.error(f"Message too large (over {MAX_MESSAGE} bytes).")
            return
        try:
            content = json.loads(text_data)
        except ValueError as exc:
            await self.error(f"Not JSON ({exc}). Send one JSON object per frame.")
            return
        await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        op = content.get("op") if isinstance(content, dict) else None
        if op not in OPS:
            await self.error(
                f"Unknown message {str(content)[:200]!r}: send an object whose "
                f'"op" is one of {", ".join(OPS)}.'
            )
            return
        try:
            await getattr(self, f"op_{op}")(content)
        except (TailError, BusError) as exc:
            await self.error(str(exc), op=op, id=content.get("id"))

    async def error(self, message: str, **about: Any) -> None:
        """Tell the client what was wrong with its message."""
        extra = {k: v for k, v in about.items() if v is not None}
        await self.send_json({"kind": "error", "message": message, **extra})

    async def op_watch(self, content: dict[str, Any]) -> None:
        feeds = content.get("feeds", ["overview"])
        if not isinstance(feeds, list) or not all(isinstance(f, str) for f in feeds):
            raise TailError('"feeds" must be a list of names such as ["overview"].')
        # Every feed is served from the one snapshot: watching twice is a no-op.
        if not self.watching:
            self.watching = True
            await SAMPLER.watch(self)

    async def op_unwatch(self, content: dict[str, Any]) -> None:
        if self.watching:
            self.watching = False
            await SAMPLER.unwatch(self)

    async def op_tail(self, content: dict[str, Any]) -> None:
        spec: TailSpec = parse_tail(content)
        old = self.tails.pop(spec.id, None)
        if old is not None:
            old.close()  # the same id again: new filters replace the old tail
        if len(self.tails) >= MAX_TAILS:
            raise TailError(
                f"This page already has {MAX_TAILS} live tails open; close one "
                '(op "untail") before opening another.'
            )
        tail = await database_sync_to_async(_open_tail)(
            spec, self.send_json, self._drain
        )
        self.tails[spec.id] = tail
        await self.send_json(
            {
                "kind": "tailing",
                "id": spec.id,
                "topic": tail.topic,
                "partitions": tail.parts,
            }
        )
        tail.start()

    async def op_untail(self, content: dict[str, Any]) -> None:
        tail_id = content.get("id")
        tail = self.tails.pop(tail_id, None) if isinstance(tail_id, str) else None
        if tail is None:
            raise TailError(
                f"No live tail {tail_id!r} on this socket (open: "
                f"{', '.join(self.tails) or 'none'})."
            )
        tail.close()
        await self.send_json({"kind": "untailed", "id": tail_id})


def recheck_seconds() -> float:
    return max(float(getattr(settings, "CONSOLE", {}).get("RECHECK_SECONDS", 5)), 0.1)


def _access(scope: dict[str, Any]) -> tuple[int | None, Role]:
    """Return (close code or None, current role) of a socket's session and user."""
    session = scope.get("session")
    key = getattr(session, "session_key", None)
    if session is None or key is None or not session.exists(key):
        return NOT_LOGGED_IN, Role.NONE
    user = scope.get("user")
    fresh = get_user_model().objects.filter(pk=getattr(user, "pk", None)).first()
    role = role_of(fresh)
    if fresh is None or not fresh.is_active:
        return NOT_LOGGED_IN, role
    return (NO_ROLE if role < Role.VIEWER else None), role


def _open_tail(spec: TailSpec, send: Any, drain: Any) -> Tail:
    tail = Tail(spec, get_topic(spec.topic), send, drain)
    tail.prepare()
    return tail
