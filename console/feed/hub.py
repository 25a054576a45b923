"""One reader per topic per process, fanning events out in process.

A ``TopicReader`` thread follows every partition of one topic with XREAD
BLOCK, decodes each entry once and builds its frame once; the batch then
crosses to the event loop in one ``call_soon_threadsafe`` and is offered to
every attached subscription there. ``dispatched`` is where the fan-out
stands per partition: a subscription that attaches reads history up to it
and takes everything after it from the fan-out, so the seam has no gap.
Partitions added to the topic while the reader runs are followed from their
first entry once the topic table is read again (``TOPIC_CACHE_SECONDS``).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from autobahn.websocket.protocol import PreparedMessage

from console.feed.link import prepare
from console.feed.protocol import Key, event_frame, key_of
from eventbus.client import get_redis
from eventbus.envelope import Event
from eventbus.keys import stream_key
from eventbus.reading import Entry, decode, xread_entries
from eventbus.streams import text
from eventbus.topics import NewPartitions, TopicInfo

logger = logging.getLogger(__name__)

BLOCK_MS = 250  # how soon a stopped reader notices
COUNT = 1000  # entries per partition per read
LINGER_SECONDS = 5.0  # a reader without subscribers stops after this


@dataclass(frozen=True, slots=True)
class Item:
    """One event as the fan-out carries it: read, serialized and framed once."""

    topic: str
    partition: int
    key: Key
    event: Event
    frame: str
    wire: PreparedMessage


def make_item(topic: str, entry: Entry, event: Event) -> Item:
    """Return the fan-out item of one decoded log entry."""
    frame = event_frame(event)
    return Item(topic, entry[2], (entry[0], entry[1]), event, frame, prepare(frame))


class Listener(Protocol):
    def offer(self, topic: str, items: list[Item]) -> None: ...

    def reader_failed(self, topic: str, message: str) -> None: ...


class TopicReader:
    """Follow one topic live from a thread; hand batches to the hub's loop."""

    def __init__(self, hub: Hub, info: TopicInfo) -> None:
        self.hub = hub
        self.info = info
        self.listeners: set[Listener] = set()  # event loop only
        self.dispatched: dict[int, Key] = {}  # event loop only
        self.cursors: dict[int, str] = {}  # reader thread after start
        self.stop = threading.Event()
        self.failing = False

    def prime(self) -> None:
        """Start at each partition's current end (blocking: call in a thread)."""
        client = get_redis()
        pipe = client.pipeline(transaction=False)
        for p in self.info.partition_ids:
            pipe.xrevrange(stream_key(self.info.name, p), "+", "-", count=1)
        for p, top in zip(self.info.partition_ids, pipe.execute(), strict=True):
            self.cursors[p] = text(top[0][0]) if top else "0-0"
        self.dispatched = {p: key_of(sid) for p, sid in self.cursors.items()}

    def start(self) -> None:
        threading.Thread(
            target=self._run, name=f"feed-reader-{self.info.name}", daemon=True
        ).start()

    def _run(self) -> None:
        client = get_redis()
        keys = {stream_key(self.info.name, p): p for p in self.cursors}
        grown = NewPartitions(self.info.name, self.cursors)
        while not self.stop.is_set():
            for p in grown.poll():
                self.cursors[p] = "0-0"
                keys[stream_key(self.info.name, p)] = p
            try:
                reply = client.xread(
                    {k: self.cursors[p] for k, p in keys.items()},
                    count=COUNT,
                    block=BLOCK_MS,
                )
            except redis.RedisError as exc:
                self._fail(exc)
                self.stop.wait(1.0)
                continue
            if self.failing:
                self.failing = False
                logger.info("Feed reader of %s reads again.", self.info.name)
            items = self._items(reply, keys)
            if items is not None:
                self.hub.call(self._dispatch, items, dict(self.cursors))

    def _items(self, reply: Any, keys: dict[str, int]) -> list[Item] | None:
        batch = xread_entries(reply, keys)
        if not batch:
            return None
        items = []
        for entry in batch:
            self.cursors[entry[2]] = entry[3]
            event = decode(self.info.name, entry)
            if event is not None:
                items.append(make_item(self.info.name, entry, event))
        return items

    def _dispatch(self, items: list[Item], cursors: dict[int, str]) -> None:
        for listener in list(self.listeners):
            listener.offer(self.info.name, items)
        self.dispatched = {p: key_of(sid) for p, sid in cursors.items()}

    def _fail(self, exc: Exception) -> None:
        if self.failing:
            return
        self.failing = True
        logger.warning("Feed reader of %s failed: %s", self.info.name, exc)
        message = (
            f"Reading topic '{self.info.name}' failed ({exc}); retrying every "
            "second from the same position."
        )
        self.hub.call(self._tell_failure, message)

    def _tell_failure(self, message: str) -> None:
        for listener in list(self.listeners):
            listener.reader_failed(self.info.name, message)


class Hub:
    """The readers of one event loop (one per Daphne process)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.readers: dict[str, TopicReader] = {}

    def call(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn`` on the hub's loop (from a reader thread)."""
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the loop is closed: nobody is listening
            for reader in self.readers.values():
                reader.stop.set()

    async def attach(self, listener: Listener, info: TopicInfo) -> dict[int, Key]:
        """Attach ``listener`` to ``info``'s fan-out; return where it stands."""
        reader = self.readers.get(info.name)
        if reader is None or reader.stop.is_set():
            fresh = TopicReader(self, info)
            await asyncio.to_thread(fresh.prime)
            reader = self.readers.get(info.name)  # another attach may have won
            if reader is None or reader.stop.is_set():
                reader = self.readers[info.name] = fresh
                reader.start()
        reader.listeners.add(listener)
        return dict(reader.dispatched)

    def detach(self, listener: Listener, topic: str) -> None:
        reader = self.readers.get(topic)
        if reader is None:
            return
        reader.listeners.discard(listener)
        if not reader.listeners:
            self.loop.call_later(LINGER_SECONDS, self._maybe_stop, reader)

    def _maybe_stop(self, reader: TopicReader) -> None:
        if not reader.listeners and self.readers.get(reader.info.name) is reader:
            reader.stop.set()
            del self.readers[reader.info.name]


_HUBS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = (
    weakref.WeakKeyDictionary()
)


def current_hub() -> Hub:
    """Return the hub of the running event loop (Daphne runs one)."""
    loop = asyncio.get_running_loop()
    hub = _HUBS.get(loop)
    if hub is None:
        hub = _HUBS[loop] = Hub(loop)
    return hub
