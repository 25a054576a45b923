"""A client of the WebSocket feed (``/ws/v1/events``): consume, resume, reconnect.

::

    async with FeedClient("wss://bus.example/ws/v1/events", token, ["orders"]) as feed:
        async for event in feed:
            handle(event.event)
            save(feed.positions)  # later: FeedClient(..., start=saved)

The token travels in the handshake's ``Authorization`` header only: never in
the URL, and the handshake's debug log shows it redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.typing import Subprotocol

from eventbus.envelope import Event, Position
from eventbus.exceptions import FeedAuthError, FeedError

logger = logging.getLogger(__name__)

PATH = "/ws/v1/events"
_KEYWORDS = ("latest", "earliest")
SUBPROTOCOL = "cloudevents.json"
Positions = dict[str, dict[int, str]]
Start = str | int | datetime | Mapping[str, Mapping[Any, str]]
# Closes that a new connection cannot fix: auth or policy, or a client bug.
_FATAL = {
    1002: "protocol error",
    1003: "binary frame",
    1007: "invalid data",
    1009: "frame too big",
}


@dataclass(frozen=True, slots=True)
class RemoteEvent:
    """One CloudEvent from the feed and its position in the log."""

    event: dict[str, Any]  # structured CloudEvent, with the sy* extensions
    topic: str
    partition: int
    offset: str  # the stream id, "<ms>-<seq>"

    @property
    def type(self) -> str:
        return str(self.event["type"])

    @property
    def data(self) -> Any:
        return self.event.get("data")

    def to_event(self) -> Event:
        """Return the bus's own ``Event``, with its ``Position``."""
        return Event.from_dict(
            self.event, Position(self.topic, self.partition, self.offset)
        )


def feed_url(url: str) -> str:
    """Return the feed's ws(s) URL for ``url`` (http(s) and a bare host work too)."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.netloc:
        raise FeedError(
            f"The feed URL {url!r} is not understood. Pass ws://HOST/ws/v1/events "
            "(or http(s)://HOST, and the feed's path is added)."
        )
    path = parts.path if parts.path not in ("", "/") else PATH
    return urlunsplit((scheme, parts.netloc, path, parts.query, ""))


def normalize_start(start: Start) -> str | int | Positions:
    """Return ``start`` as the feed's ``from``: keyword, ms, ISO time or positions."""
    if isinstance(start, datetime):
        return start.isoformat()
    if isinstance(start, Mapping):
        try:
            return {
                str(topic): {int(p): str(offset) for p, offset in parts.items()}
                for topic, parts in start.items()
            }
        except (AttributeError, TypeError, ValueError) as exc:
            raise FeedError(
                "Saved positions must look like {topic: {partition: offset}}, "
                "e.g. {'orders': {'0': '1700000000000-0'}}."
            ) from exc
    if isinstance(start, bool) or not isinstance(start, str | int):
        raise FeedError(f"start={start!r} is not a keyword, ms, time or positions.")
    return start


def _stream_id(offset: str) -> tuple[int, int]:
    ms, _, seq = offset.partition("-")
    return int(ms), int(seq or 0)


class _Redact(logging.Filter):
    """Hide the token in websockets' handshake debug lines ("> %s: %s")."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        named = isinstance(args, tuple) and len(args) == 2 and str(args[0])
        if named and named.lower() == "authorization":
            record.args = (named, "Bearer ***")
        return True


_ws_logger = logging.getLogger("eventbus.remote.websockets")
_ws_logger.addFilter(_Redact())


class FeedClient:
    """Consume one or more topics from the feed; resumable through ``positions``.

    Iterate it (``async for``; ``async with`` closes it) to receive
    ``RemoteEvent``s. ``positions`` holds, per topic and partition, the
    offset of the last event received (or where the subscription started):
    pass it as ``start`` to resume exactly after it. With ``reconnect`` a
    dropped connection is reopened with backoff and resumes from
    ``positions``; an auth or policy refusal (close 1008) raises
    ``FeedAuthError`` at once, a refused or ended subscription ``FeedError``.
    A topic the server cannot read for now is only logged: the server
    retries and the events follow once it reads again.
    """

    def __init__(
        self,
        url: str,
        token: str,
        topics: list[str],
        *,
        types: list[str] | None = None,
        key: str | None = None,
        subject: str | None = None,
        start: Start = "latest",
        reconnect: bool = True,
        max_attempts: int | None = None,
        backoff: tuple[float, float] = (0.5, 30.0),
        open_timeout: float = 10.0,
    ) -> None:
        if not token:
            raise FeedAuthError(
                "No API token. Pass one (sy_<keyid>_<secret>), e.g. from the "
                "SWITCHYARD_TOKEN environment variable; create it in the admin "
                "or with 'manage.py bus token create'."
            )
        if not topics:
            raise FeedError("Name at least one topic to subscribe to.")
        self.url = feed_url(url)
        self._token = token
        self.topics = list(topics)
        self.types, self.key, self.subject = types, key, subject
        self.start = normalize_start(start)
        self.reconnect, self.max_attempts = reconnect, max_attempts
        self.backoff, self.open_timeout = backoff, open_timeout
        self.positions: Positions = {}
        if isinstance(self.start, dict):
            self.positions = {t: dict(p) for t, p in self.start.items()}
        self.live = asyncio.Event()  # set once replay is done on this connection
        self.connections = 0
        self.duplicates = 0  # events at or before a known position, dropped
        self._ws: ClientConnection | None = None
        self._closing = False
        self._failures = 0  # attempts in a row that got no event
        self._last_error = ""  # the server's reason, sent just before a close

    def __repr__(self) -> str:
        return f"<FeedClient {self.url} topics={self.topics}>"  # never the token

    def __aiter__(self) -> FeedClient:
        return self

    async def __aenter__(self) -> FeedClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connection; iteration ends without an error."""
        self._closing = True
        await self._drop()

    async def __anext__(self) -> RemoteEvent:
        """Return the next event, reconnecting after drops while ``reconnect`` is on.

        An iterator class rather than an async generator: a generator left
        suspended after a ``break`` is closed by asyncio.run's shutdown from
        another task, which fails while its socket is still closing.
        """
        while not self._closing:
            if self._ws is None:
                await self._open()
                continue
            try:
                frame = orjson.loads(await self._ws.recv())
            except ConnectionClosed as exc:
                self._ws = None
                if self._closing:
                    break
                self._raise_if_fatal(exc)
                await self._backoff(str(exc))
                continue
            if "specversion" not in frame:
                try:
                    self._control(frame)
                except FeedError:
                    await self._drop()
                    raise
                continue
            event = self._accept(frame)
            if event is not None:
                self._failures = 0
                return event
        raise StopAsyncIteration

    async def _open(self) -> None:
        """Connect and subscribe (from ``positions`` once known)."""
        self.live.clear()
        self._last_error = ""
        try:
            ws = await connect(
                self.url,
                additional_headers={"Authorization": f"Bearer {self._token}"},
                subprotocols=[Subprotocol(SUBPROTOCOL)],
                open_timeout=self.open_timeout,
                max_size=None,
                logger=_ws_logger,
            )
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise FeedAuthError(
                    f"The feed at {self.url} refused the handshake (HTTP "
                    f"{status}): check the token, and that an Origin header, "
                    "if sent, is an allowed host."
                ) from exc
            await self._backoff(f"HTTP {status} on the handshake")
            return
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            await self._backoff(f"{type(exc).__name__}: {exc}")
            return
        self._ws = ws
        self.connections += 1
        with contextlib.suppress(ConnectionClosed):  # the next recv() says why
            await ws.send(orjson.dumps(self._subscribe_op()).decode())

    async def _backoff(self, problem: str) -> None:
        """Wait before the next attempt, or raise once attempts run out."""
        self._failures += 1
        if not self.reconnect or (
            self.max_attempts is not None and self._failures > self.max_attempts
        ):
            raise FeedError(
                f"Lost the feed at {self.url} ({problem}). Resume later with "
                "start=<this client's positions>."
            )
        delay = min(self.backoff[1], self.backoff[0] * 2 ** (self._failures - 1))
        delay *= random.uniform(0.5, 1.0)  # jitter: clients do not stampede
        logger.warning("Feed dropped (%s); reconnecting in %.1fs", problem, delay)
        await asyncio.sleep(delay)

    async def _drop(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()

    def _subscribe_op(self) -> dict[str, Any]:
        start: Any = self.start
        if self.positions:  # resume after what was seen (or where it started)
            start = {
                topic: {str(p): offset for p, offset in parts.items()}
                for topic, parts in self.positions.items()
            }
        return {
            "op": "subscribe",
            "id": "s1",
            "topics": self.topics,
            "types": self.types,
            "key": self.key,
            "subject": self.subject,
            "from": start,
        }

    def _accept(self, frame: dict[str, Any]) -> RemoteEvent | None:
        topic, partition = str(frame["sytopic"]), int(frame["sypartition"])
        offset = str(frame["syoffset"])
        seen = self.positions.setdefault(topic, {})
        last = seen.get(partition)
        if last is not None and _stream_id(offset) <= _stream_id(last):
            self.duplicates += 1
            return None
        seen[partition] = offset
        return RemoteEvent(frame, topic, partition, offset)

    def _control(self, frame: dict[str, Any]) -> None:
        kind = frame.get("kind")
        if kind == "subscribed":
            # Where the subscription starts: a resume before any event goes here.
            for topic, parts in (frame.get("positions") or {}).items():
                known = self.positions.setdefault(topic, {})
                for p, offset in parts.items():
                    known.setdefault(int(p), str(offset))
        elif kind == "live":
            self.live.set()
        elif kind == "error" and frame.get("code") is not None:
            self._last_error = str(frame.get("message") or "")  # the close follows
        elif kind == "error" and frame.get("op") is None:
            # No request refused: the server could not read a topic for now
            # (console/feed/hub.py) and retries from the same position.
            logger.warning("The feed reports: %s", frame.get("message"))
        elif kind == "error":  # a refused or ended subscription
            raise FeedError(
                f"The feed refused {frame.get('op')}: {frame.get('message')}"
            )

    def _raise_if_fatal(self, exc: ConnectionClosed) -> None:
        close = exc.rcvd
        if close is None:
            return  # no close frame: the network or the server went away
        reason = close.reason or self._last_error
        if close.code == 1008:
            raise FeedAuthError(
                f"The feed closed the connection (1008 {reason or 'policy'}): "
                "the token is missing, wrong, expired or revoked, lacks the "
                "subscribe scope, or has too many connections. Fix that; "
                "retrying will not help.",
                close.code,
            ) from exc
        if close.code in _FATAL:
            raise FeedError(
                f"The feed closed the connection ({close.code} "
                f"{reason or _FATAL[close.code]}); this client sent "
                "something the server does not accept.",
                close.code,
            ) from exc
