"""One subscription of a feed connection: replay from its start, then live.

Replay reads history page by page up to each partition's end, as fast as
the client takes it (the connection's queue is the back-pressure). Then the
subscription attaches to the hub, reads the gap between where its history
read ended and where the fan-out stands, and only then lets the live
events that queued meanwhile through. ``sent`` per partition drops anything
at or before the last event sent, so the seam has no duplicate either.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from console.feed.hub import Hub, Item, make_item
from console.feed.protocol import Key, SubscribeSpec, id_of
from eventbus.client import get_redis, redis_errors
from eventbus.envelope import Event
from eventbus.exceptions import BusUnavailable
from eventbus.keys import stream_key
from eventbus.reading import decode, entries, matcher, merged
from eventbus.topics import TopicInfo

if TYPE_CHECKING:
    from console.feed.connection import Connection

PAGE = 500  # entries read per history page
RETRY_SECONDS = 1.0  # between reads while Redis is unreachable
EARLIEST: Key = (0, -1)


class Subscription:
    """Deliver one subscription's events into its connection's queue."""

    def __init__(
        self, spec: SubscribeSpec, infos: list[TopicInfo], conn: Connection
    ) -> None:
        self.spec = spec
        self.infos = infos
        self.conn = conn
        filtered = spec.types or spec.key is not None or spec.subject is not None
        self.match: Callable[[Event], bool] | None = (
            matcher(spec.types, spec.key, spec.subject) if filtered else None
        )
        self.state = "replay"  # then "gap", "live", "closed"
        self.pending: list[Item] = []
        # Per topic and partition: history read up to (inclusive) / sent up to.
        self.read_to: dict[str, dict[int, Key]] = {}
        self.sent: dict[str, dict[int, Key]] = {}
        self.hub: Hub | None = None

    # -- called on the event loop by the hub --------------------------------
    def offer(self, topic: str, items: list[Item]) -> None:
        if self.state not in ("gap", "live"):
            return
        match = self.match
        chosen = items if match is None else [i for i in items if match(i.event)]
        if not chosen:
            return
        if self.state == "gap":
            self.pending.extend(chosen)
            if len(self.pending) > self.conn.buffer:
                self.conn.too_slow(len(self.pending))
        else:
            self.conn.push_items(self, chosen)

    def reader_failed(self, topic: str, message: str) -> None:
        self.conn.push_control("error", message=message, id=self.spec.id)

    # -- the subscription's own task -----------------------------------------
    def start_positions(self) -> None:
        """Fix where each partition starts (at latest: fixed when attaching)."""
        start = self.spec.start
        for info in self.infos:
            if start.mode == "time":
                floor = dict.fromkeys(info.partition_ids, (start.ms, -1))
            else:
                saved = start.positions.get(info.name, {})
                floor = {p: saved.get(p, EARLIEST) for p in info.partition_ids}
            self.read_to[info.name] = dict(floor)
            self.sent[info.name] = dict(floor)

    def positions(self) -> dict[str, dict[str, str]]:
        """Return where the subscription starts: resuming after these loses nothing."""
        return {
            topic: {str(p): _before(key) for p, key in floors.items()}
            for topic, floors in self.sent.items()
        }

    async def run(self, hub: Hub) -> None:
        """Replay history (unless starting at latest), then go live."""
        self.hub = hub
        latest = self.spec.start.mode == "latest"
        if not latest:
            self.start_positions()
            self._announce()
            for info in self.infos:
                await self._replay(info)
        self.state = "gap"
        ends = {}
        for info in self.infos:
            ends[info.name] = await hub.attach(self, info)
            if latest:
                self.read_to[info.name] = dict(ends[info.name])
                self.sent[info.name] = dict(ends[info.name])
        if latest:
            self._announce()
        for info in self.infos:
            await self._catch_up(info, ends[info.name])
        # History still queued is not the client's fault: let it drain to
        # half the buffer before the live backlog counts against it.
        await self.conn.room()
        if self.state == "closed":
            return
        self.state = "live"
        pending, self.pending = self.pending, []
        self.conn.push_items(self, pending, paced=True)
        self.conn.push_control("live", id=self.spec.id)

    def _announce(self) -> None:
        self.conn.push_control(
            "subscribed",
            id=self.spec.id,
            topics=[info.name for info in self.infos],
            positions=self.positions(),
        )

    def close(self) -> None:
        self.state = "closed"
        self.pending = []
        if self.hub is not None:
            for info in self.infos:
                self.hub.detach(self, info.name)

    async def _page(
        self, info: TopicInfo, upto: dict[int, Key] | None
    ) -> tuple[list[Item], bool]:
        """Read one page; while Redis is unreachable, say so once and retry.

        The error frame has the shape of a live reader's (no ``op``): the
        subscription goes on from the same position once Redis is back, so
        a client must not give up on it.
        """
        told = False
        while True:
            try:
                return await asyncio.to_thread(self._read, info, upto)
            except BusUnavailable as exc:
                if self.state == "closed":
                    raise
                if not told:
                    self.reader_failed(
                        info.name,
                        f"Reading topic '{info.name}' failed ({exc}); retrying "
                        "every second from the same position.",
                    )
                    told = True
                await asyncio.sleep(RETRY_SECONDS)

    async def _replay(self, info: TopicInfo) -> None:
        while self.state == "replay":
            items, done = await self._page(info, None)
            self.conn.push_items(self, items, paced=True)
            if done:
                return
            await self.conn.room()

    async def _catch_up(self, info: TopicInfo, ends: dict[int, Key]) -> None:
        upto = {p: ends[p] for p in info.partition_ids if p in ends}
        while self.state == "gap":
            items, done = await self._page(info, upto)
            self.conn.push_items(self, items, paced=True)
            if done:
                return
            await self.conn.room()

    def _read(
        self, info: TopicInfo, upto: dict[int, Key] | None
    ) -> tuple[list[Item], bool]:
        """Read one page after ``read_to`` (up to ``upto``); return it and "done"."""
        client = get_redis()
        read_to = self.read_to[info.name]
        streams = []
        for p in info.partition_ids:
            floor = read_to.get(p, EARLIEST)
            high = upto.get(p) if upto is not None else None
            if upto is not None and (high is None or high <= floor):
                continue
            low = f"{floor[0]}-0" if floor[1] < 0 else f"({id_of(floor)}"
            top = id_of(high) if high is not None else "+"
            key = stream_key(info.name, p)
            streams.append(entries(client, key, p, low, top, chunk=PAGE))
        items: list[Item] = []
        scanned = 0
        with redis_errors(f"replay topic '{info.name}'"):
            for entry in merged(streams):
                read_to[entry[2]] = (entry[0], entry[1])
                scanned += 1
                event = decode(info.name, entry)
                if event is not None and (self.match is None or self.match(event)):
                    items.append(make_item(info.name, entry, event))
                if scanned >= PAGE:
                    return items, False
        return items, True


MAX_SEQ = 2**64 - 1


def _before(key: Key) -> str:
    """Return the stream id to resume after to get ``key``'s events again.

    A start at time T is the floor (T, -1): the id just before T-0 is the last
    possible id of T-1 ms ("0-0" at the very beginning: no entry has that id).
    """
    if key[1] >= 0:
        return id_of(key)
    return f"{key[0] - 1}-{MAX_SEQ}" if key[0] > 0 else "0-0"
