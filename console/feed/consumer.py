"""The feed socket: authenticate by API token, subscribe, stream events.

See console/feed/protocol.py for the frames and close codes and docs/api.md
for the client's view. The token comes in the ``Authorization`` header of
the handshake or as the first message, never in the URL; it is never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import orjson
from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.db import close_old_connections

from console.exceptions import ScopeDenied, TokenRefused
from console.feed import watchdog
from console.feed.connection import Connection
from console.feed.hub import current_hub
from console.feed.link import Link
from console.feed.protocol import (
    MAX_MESSAGE,
    MAX_SUBSCRIPTIONS,
    POLICY,
    PROTOCOL_ERROR,
    SERVER_ERROR,
    SUBPROTOCOL,
    TOO_BIG,
    UNSUPPORTED,
    FeedError,
    control,
    parse_subscribe,
)
from console.feed.subscription import Subscription
from console.models import ApiToken
from console.tokens import Scope, api_setting, require_scope, token_authenticate
from eventbus.exceptions import BusError
from eventbus.slots import acquire_slot, release_slot
from eventbus.topics import TopicInfo, get_topic

logger = logging.getLogger(__name__)
OPS = ("auth", "subscribe", "unsubscribe", "ping")


class FeedConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """One client of /ws/v1/events."""

    # No channel layer: events fan out in process (console/feed/hub.py).
    channel_layer_alias = "feed-sockets-use-no-layer"
    id = ""  # set once connect() runs

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # However the consumer ends (a handler raised, the task was
            # cancelled), its watchdog entry, connection-cap slot and
            # subscriptions go with it: a leftover slot, refreshed by the
            # watchdog forever, would lock the token out.
            await self.disconnect(SERVER_ERROR)

    async def dispatch(self, message: dict[str, Any]) -> None:
        try:
            await super().dispatch(message)
        except StopConsumer:
            raise
        except Exception:
            if message["type"] == "websocket.disconnect":
                raise  # nobody to answer; __call__ still cleans up
            await self._fail(
                "Feed connection %s failed on %s.", self.id, message["type"]
            )

    async def connect(self) -> None:
        self.id = uuid.uuid4().hex
        self.token: ApiToken | None = None
        self.subs: dict[str, Subscription] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.link = Link(self.base_send)
        self.opened = self.active = time.monotonic()
        self.ending = False
        self.conn = Connection(
            self._send_text, self.end, self.link, int(api_setting("FEED_BUFFER"))
        )
        if SUBPROTOCOL not in self.scope.get("subprotocols", []):
            await self.accept()
            await self.end(
                PROTOCOL_ERROR, f"Offer the WebSocket subprotocol '{SUBPROTOCOL}'."
            )
            return
        await self.accept(SUBPROTOCOL)
        self.conn.start()
        watchdog.register(self)
        header = _bearer(self.scope)
        if header is not None:
            await self.authenticate(header)

    async def disconnect(self, code: int) -> None:
        if not self.id:
            return  # never connected: nothing to undo
        self.ending = True
        watchdog.unregister(self)
        for sub_id in list(self.subs):
            self._drop(sub_id)
        self.conn.stop()
        if self.token is not None:
            token, self.token = self.token, None
            await asyncio.to_thread(_release, token.key_id, self.id)

    async def end(self, code: int, reason: str) -> None:
        """Close with ``code``, saying why (an error frame first, then the close)."""
        if self.ending:
            return
        self.ending = True
        self.conn.stop()
        message = control("error", message=reason, code=code)
        await self.send(text_data=message)
        if not self.link.close_with_reason(code, reason):
            await self.close(code=code, reason=reason)

    async def _fail(self, what: str, *args: Any) -> None:
        """Log the exception being handled and close with 1011."""
        logger.exception(what, *args)
        await self.end(SERVER_ERROR, "The server failed; reconnect and resume.")

    async def _send_text(self, text: str) -> None:
        await self.base_send({"type": "websocket.send", "text": text})

    async def authenticate(self, raw: str) -> None:
        try:
            token = await database_sync_to_async(token_authenticate)(raw)
        except TokenRefused as exc:
            await self.end(POLICY, str(exc))
            return
        cap = token.max_connections or int(api_setting("MAX_FEED_CONNECTIONS"))
        try:
            held = await asyncio.to_thread(_acquire, token.key_id, self.id, cap)
        except BusError as exc:
            await self.end(SERVER_ERROR, str(exc))
            return
        if not held:
            await self.end(
                POLICY,
                f"Too many connections: token '{token.name}' may hold {cap} feed "
                "connections at once. Close one first.",
            )
            return
        self.token = token
        await self.send(text_data=control("authenticated", token=token.name))

    async def receive(
        self, text_data: str | None = None, bytes_data: bytes | None = None
    ) -> None:
        if self.ending:
            return
        self.active = time.monotonic()
        if text_data is None:
            await self.end(UNSUPPORTED, "Send JSON text frames, not binary ones.")
            return
        # The limit is in UTF-8 bytes ("€" is 3); a frame with more characters
        # than that is too big without encoding it.
        if len(text_data) > MAX_MESSAGE or len(text_data.encode()) > MAX_MESSAGE:
            await self.end(
                TOO_BIG, f"Client frames may hold {MAX_MESSAGE} bytes of UTF-8."
            )
            return
        try:
            content = orjson.loads(text_data)
        except orjson.JSONDecodeError as exc:
            await self.error(f"Not JSON ({exc}). Send one JSON object per frame.")
            return
        op = content.get("op") if isinstance(content, dict) else None
        if op not in OPS:
            await self.error(
                'Unknown message: send an object whose "op" is one of '
                f"{', '.join(OPS)}."
            )
            return
        if op == "auth":
            await self._op_auth(content)
        elif self.token is None:
            await self.end(
                POLICY,
                'Authenticate first: send {"op": "auth", "token": "sy_..."} or an '
                "Authorization: Bearer header.",
            )
        else:
            await getattr(self, f"_op_{op}")(content)

    async def error(self, message: str, **about: Any) -> None:
        await self.send(text_data=control("error", message=message, **about))

    async def _op_auth(self, content: dict[str, Any]) -> None:
        if self.token is not None:
            await self.error("Already authenticated.", op="auth")
            return
        raw = content.get("token")
        await self.authenticate(raw if isinstance(raw, str) else "")

    async def _op_ping(self, content: dict[str, Any]) -> None:
        await self.send(text_data=control("pong"))

    async def _op_subscribe(self, content: dict[str, Any]) -> None:
        try:
            spec = parse_subscribe(content)
            if spec.id not in self.subs and len(self.subs) >= MAX_SUBSCRIPTIONS:
                raise FeedError(
                    f"This connection already has {MAX_SUBSCRIPTIONS} subscriptions; "
                    'unsubscribe one first (op "unsubscribe").'
                )
            infos = await database_sync_to_async(_topics)(self.token, spec.topics)
        except (FeedError, ScopeDenied, BusError) as exc:
            await self.error(str(exc), op="subscribe", id=content.get("id"))
            return
        self._drop(spec.id)  # the same id again: the new request replaces it
        sub = Subscription(spec, infos, self.conn)
        self.subs[spec.id] = sub
        self.tasks[spec.id] = asyncio.get_running_loop().create_task(self._run(sub))

    async def _run(self, sub: Subscription) -> None:
        try:
            await sub.run(current_hub())
        except BusError as exc:
            self.end_subscription(sub.spec.id, str(exc))
        except Exception:
            await self._fail("Feed subscription %s failed.", sub.spec.id)

    async def _op_unsubscribe(self, content: dict[str, Any]) -> None:
        sub_id = content.get("id")
        if not isinstance(sub_id, str) or sub_id not in self.subs:
            await self.error(
                f"No subscription {sub_id!r} (open: {', '.join(self.subs) or 'none'}).",
                op="unsubscribe",
            )
            return
        self._drop(sub_id)
        self.conn.push_control("unsubscribed", id=sub_id)

    def end_subscription(self, sub_id: str, message: str) -> None:
        """Drop one subscription, telling the client why; the socket stays open."""
        self._drop(sub_id)
        self.conn.push_control("error", message=message, op="subscribe", id=sub_id)

    def refresh_token(self, token: ApiToken) -> None:
        """Take ``token``'s fresh row; end subscriptions its scopes no longer allow.

        ``token``'s scopes must be loaded already (``grants``): this runs on
        the event loop. Later subscribe requests are checked against them too.
        """
        self.token = token
        for sub_id, sub in list(self.subs.items()):
            try:
                require_scope(token, Scope.SUBSCRIBE, sub.spec.topics)
            except ScopeDenied as exc:
                self.end_subscription(sub_id, f"Subscription {sub_id} ended: {exc}")

    def _drop(self, sub_id: str) -> None:
        sub = self.subs.pop(sub_id, None)
        if sub is not None:
            sub.close()
        task = self.tasks.pop(sub_id, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()


def _bearer(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, credentials = value.decode("latin1").partition(" ")
            return credentials.strip() if scheme.lower() == "bearer" else ""
    return None


def _topics(token: ApiToken | None, names: list[str]) -> list[TopicInfo]:
    assert token is not None
    close_old_connections()
    require_scope(token, Scope.SUBSCRIBE, names)
    return [get_topic(name) for name in names]


def _acquire(key_id: str, holder: str, cap: int) -> bool:
    return acquire_slot(f"feed:{key_id}", holder, cap=cap, ttl=watchdog.lease_seconds())


def _release(key_id: str, holder: str) -> None:
    with contextlib.suppress(BusError):  # else the lease runs out by itself
        release_slot(f"feed:{key_id}", holder)
