"""Live tails for console sockets: one reader thread and cursor per tail.

A tail reads the topic's partition streams with XREAD BLOCK from its own
cursor (no consumer group: tailing never affects delivery), filters, and
queues one frame per read. Frames carry each event's stream position and
the cursor after the read, so a browser can resume exactly. The queue
toward the socket is bounded: when the browser falls behind, whole reads
are skipped and a ``tail-gap`` frame says how many events and up to which
positions, so the sequence seen is never torn and the bus never waits.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import redis

from console.filters import parse_filters
from eventbus.client import get_redis, redis_errors
from eventbus.keys import stream_key
from eventbus.reading import decode, matcher, select_partitions, xread_entries
from eventbus.streams import is_number, split_id, text
from eventbus.topics import NewPartitions, TopicInfo

logger = logging.getLogger(__name__)

MAX_TAILS = 5  # per socket
BLOCK_MS = 250  # how soon a stopped tail notices
COUNT = 500  # entries per partition per read
MAX_QUEUED = 8  # frames waiting for the socket before reads are skipped

Send = Callable[[dict[str, Any]], Awaitable[None]]
Drain = Callable[[], Awaitable[None]]


class TailError(ValueError):
    """A tail request the server refuses; the message says how to fix it."""


@dataclass(frozen=True)
class TailSpec:
    """What one ``{"op": "tail"}`` message asks for."""

    id: str
    topic: str
    partitions: list[int] | None = None
    types: list[str] | None = None
    key: str | None = None
    subject: str | None = None
    start: dict[int, str] | None = None  # None: from now on ("latest")


def parse_tail(message: dict[str, Any]) -> TailSpec:
    """Validate a tail message; raise ``TailError`` saying what is wrong."""
    tail_id, topic = message.get("id"), message.get("topic")
    if not isinstance(tail_id, str) or not tail_id or len(tail_id) > 64:
        raise TailError('A tail needs an "id": a short string such as "t1".')
    if not isinstance(topic, str) or not topic:
        raise TailError(f'Tail {tail_id}: "topic" must name a topic.')
    partitions = message.get("partitions")
    if partitions is not None and (
        not isinstance(partitions, list)
        or not all(isinstance(p, int) and not isinstance(p, bool) for p in partitions)
    ):
        raise TailError(
            f'Tail {tail_id}: "partitions" must be a list of numbers or null.'
        )
    filters = parse_filters(message, f"Tail {tail_id}", TailError)
    return TailSpec(
        id=tail_id,
        topic=topic,
        partitions=partitions,
        types=filters.types,
        key=filters.key,
        subject=filters.subject,
        start=_parse_start(tail_id, message.get("from", "latest")),
    )


def _parse_start(tail_id: str, start: Any) -> dict[int, str] | None:
    if start in (None, "latest"):
        return None
    if isinstance(start, dict):
        cursors = {
            int(p): sid
            for p, sid in start.items()
            if is_number(p) and split_id(sid, seq_required=True) is not None
        }
        if cursors and len(cursors) == len(start):
            return cursors
    raise TailError(
        f'Tail {tail_id}: "from" must be "latest" or the "positions" of an '
        'earlier frame ({"0": "1700000000000-0", ...}) to resume after them.'
    )


class Tail:
    """One tail of one socket: a reader thread and a sender task."""

    def __init__(
        self, spec: TailSpec, info: TopicInfo, send: Send, drain: Drain | None = None
    ) -> None:
        self.spec = spec
        # Waits while the socket's transport is backed up (a slow browser).
        # ASGI send returns at once under Daphne, so without it frames would
        # pile up in Daphne's buffer instead of MAX_QUEUED here.
        self.drain = drain
        self.topic = info.name
        self.parts = select_partitions(info, spec.partitions, spec.key)
        self.match = matcher(spec.types, spec.key, spec.subject)
        self.send = send
        self.stop = threading.Event()
        self.frames: deque[dict[str, Any]] = deque()
        self.lock = threading.Lock()
        self.wake = asyncio.Event()
        self.skipped = 0
        self.skipped_to: dict[str, str] = {}
        self.failing = False
        self.loop: asyncio.AbstractEventLoop | None = None
        self.sender: asyncio.Task[None] | None = None
        self.cursors: dict[int, str] | None = None
        self.opened_ms = int(time.time() * 1000)

    def prepare(self) -> None:
        """Fix where reading starts, now (sync): "latest" means from this call on."""
        with redis_errors(f"start a live tail of topic '{self.topic}'"):
            self.cursors = self._cursors(get_redis())

    def start(self) -> None:
        """Start reading (from the event loop that will send the frames)."""
        self.loop = asyncio.get_running_loop()
        self.sender = self.loop.create_task(self._send_frames())
        thread = threading.Thread(
            target=self._read, name=f"console-tail-{self.spec.id}", daemon=True
        )
        thread.start()

    def close(self) -> None:
        """Stop the reader (within BLOCK_MS) and the sender."""
        self.stop.set()
        if self.sender is not None:
            self.sender.cancel()

    async def _send_frames(self) -> None:
        while True:
            await self.wake.wait()
            self.wake.clear()
            while True:
                if self.drain is not None:
                    await self.drain()
                with self.lock:
                    frame = self.frames.popleft() if self.frames else None
                if frame is None:
                    break
                await self.send(frame)

    def _cursors(self, client: redis.Redis) -> dict[int, str]:
        start = self.spec.start or {}
        cursors = {p: start[p] for p in self.parts if p in start}
        missing = [p for p in self.parts if p not in cursors]
        if missing:
            pipe = client.pipeline(transaction=False)
            for p in missing:
                pipe.xrevrange(stream_key(self.topic, p), "+", "-", count=1)
            for p, top in zip(missing, pipe.execute(), strict=True):
                cursors[p] = text(top[0][0]) if top else "0-0"
        return cursors

    def _read(self) -> None:
        client = get_redis()
        keys = {stream_key(self.topic, p): p for p in self.parts}
        cursors = self.cursors
        # Without chosen partitions, a tail follows partitions added later too.
        grown = (
            NewPartitions(
                self.topic,
                self.parts,
                lambda info: select_partitions(info, None, self.spec.key),
            )
            if self.spec.partitions is None
            else None
        )
        while not self.stop.is_set() and keys:
            try:
                if cursors is None:
                    cursors = self._cursors(client)
                for p in grown.poll() if grown is not None else ():
                    # From when the tail opened: a key's events can move to an
                    # older partition; a new partition holds only newer events.
                    cursors[p] = f"{self.opened_ms - 1}-0"
                    keys[stream_key(self.topic, p)] = p
                reply = client.xread(
                    {k: cursors[p] for k, p in keys.items()},
                    count=COUNT,
                    block=BLOCK_MS,
                )
            except redis.RedisError as exc:
                self._fail(exc)
                self.stop.wait(1.0)
                continue
            self.failing = False
            self._deliver(self._events(reply, keys, cursors), cursors)

    def _events(
        self, reply: Any, keys: dict[str, int], cursors: dict[int, str]
    ) -> list[dict[str, Any]]:
        events = []
        for entry in xread_entries(reply, keys):
            cursors[entry[2]] = entry[3]
            event = decode(self.topic, entry)
            if event is not None and self.match(event):
                assert event.position is not None
                events.append(
                    {"position": event.position.as_dict(), "event": event.to_dict()}
                )
        return events

    def _deliver(self, events: list[dict[str, Any]], cursors: dict[int, str]) -> None:
        positions = {str(p): sid for p, sid in cursors.items()}
        queued = False
        with self.lock:
            if self.skipped and len(self.frames) < MAX_QUEUED:
                self.frames.append(
                    {
                        "kind": "tail-gap",
                        "id": self.spec.id,
                        "skipped": self.skipped,
                        "positions": self.skipped_to,
                    }
                )
                self.skipped, self.skipped_to, queued = 0, {}, True
            if events and len(self.frames) < MAX_QUEUED:
                self.frames.append(
                    {
                        "kind": "tail",
                        "id": self.spec.id,
                        "events": events,
                        "positions": positions,
                    }
                )
                queued = True
            elif events:
                # The browser is behind: skip this read whole, never part of it.
                self.skipped += len(events)
                self.skipped_to = positions
        if queued:
            self._wake()

    def _fail(self, exc: Exception) -> None:
        if self.failing:
            return
        self.failing = True
        logger.warning(
            "Console tail %s on %s failed: %s", self.spec.id, self.topic, exc
        )
        message = {
            "kind": "tail-error",
            "id": self.spec.id,
            "message": f"Reading topic '{self.topic}' failed ({exc}); retrying "
            "every second from the same position.",
        }
        with self.lock:
            self.frames.append(message)
        self._wake()

    def _wake(self) -> None:
        assert self.loop is not None
        try:
            self.loop.call_soon_threadsafe(self.wake.set)
        except RuntimeError:  # the event loop is gone: the socket is closed
            self.stop.set()
