"""The consumer loop of one group in one process: lease, fetch, handle, ack.

One thread per group. It owns some of the group's sources (partitions and
the redrive stream) through leases, drains a newly owned source's pending
entries first (in order), then reads new entries with one blocking
XREADGROUP over every owned source, and handles each source's entries in
order. A failing event blocks only its own source while it waits for its
retry, so per-key order holds and other partitions go on.
"""

from __future__ import annotations

import gc
import logging
import os
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import redis
from django.db import close_old_connections, connections

from eventbus._bounds import read_bounds
from eventbus.client import get_redis, new_redis
from eventbus.conf import bus_settings
from eventbus.consumer.batch import BatchProcessor, Outcome, SourceState
from eventbus.consumer.handling import Watchdog
from eventbus.consumer.membership import Membership, Source, assign, new_member_id
from eventbus.consumer.subscriptions import (
    Subscription,
    handlers_for,
    where_created,
)
from eventbus.exceptions import BusUnavailable, GroupExists
from eventbus.groups import create_group, ensure_group, is_nogroup
from eventbus.keys import redrive_key, stream_key
from eventbus.streams import text
from eventbus.topics import get_topic

logger = logging.getLogger("eventbus.consumer")


class GroupConsumer:
    """Consume every subscription of ``group`` until ``stop()`` is called.

    With ``handlers`` it runs the subscriptions declared for that group
    instead, as ``group``: positions, leases, idempotency records and dead
    letters are all ``group``'s (a replay group running a service's handlers).
    """

    def __init__(
        self,
        group: str,
        *,
        handlers: str | None = None,
        batch_size: int | None = None,
        block_ms: int = 1000,
        lease_ms: int | None = None,
        heartbeat: float | None = None,
        client: redis.Redis | None = None,
        member: str | None = None,
    ) -> None:
        subs = handlers_for(group, handlers)
        if handlers and handlers != group:
            subs = where_created(group, handlers, subs)
        self.group = group
        self.handlers = handlers or group
        self.subs: dict[str, list[Subscription]] = defaultdict(list)
        for sub in subs:
            self.subs[sub.topic].append(sub)
        settings = bus_settings()
        self.batch_size = batch_size or settings.batch_size
        self.block_ms = block_ms
        self.heartbeat_every = heartbeat or settings.heartbeat_seconds
        self.lease_ms = lease_ms or settings.lease_ms
        self.member = member or new_member_id()
        self._client = client
        self._stop = threading.Event()
        self.states: dict[Source, SourceState] = {}
        self.totals = Outcome()
        self._wanted: list[Source] = []
        # End bound per topic (None: none), refreshed with each heartbeat.
        self.bounds: dict[str, int | None] = {}

    # --- life cycle -----------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to finish its in-flight batch, ack, release and return."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run(self) -> None:
        """Run until stopped; reconnect with backoff when Redis drops."""
        # A consumer runs for the life of its process, and what exists now
        # (Django, apps, settings) never becomes garbage. Taking it out of
        # the collector's view makes the full collections that decoding
        # thousands of events per read triggers cheap: at batch 1000 they
        # took ~30% of a drain (bench/README.md, consume).
        gc.freeze()
        watchdog = Watchdog()
        backoff = 0.1
        membership: Membership | None = None
        try:
            client = self._client or new_redis()
            # Entries come back as Redis sent them: redis-py's generic
            # parsing of every entry's field list costs more than the
            # handling of a no-op handler (see bench/consume.py).
            client.set_response_callback("XREADGROUP", _unparsed)
            # redis-py drops XAUTOCLAIM's cursor when JUSTID is given.
            client.set_response_callback("XAUTOCLAIM", _unparsed)
            while not self._stop.is_set():
                try:
                    membership = Membership(
                        client, self.group, self.member, self.lease_ms
                    )
                    processor = BatchProcessor(
                        client, self.group, self.subs, watchdog, self.bounds
                    )
                    self._ensure_groups()
                    self._loop(client, membership, processor)
                    backoff = 0.1
                except (
                    redis.ConnectionError,
                    redis.TimeoutError,
                    BusUnavailable,
                ) as exc:
                    # Leases may lapse while Redis is away: start over from the
                    # group's state (pending entries are re-claimed).
                    self.states.clear()
                    logger.warning(
                        "Group %r lost Redis (%s); reconnecting in %.1fs.",
                        self.group,
                        exc,
                        backoff,
                    )
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
                except Exception:
                    # A bug or an unexpected reply must not end consumption
                    # silently inside a worker that otherwise looks healthy.
                    self.states.clear()
                    logger.exception(
                        "Group %r consumer failed; restarting in %.1fs.",
                        self.group,
                        backoff,
                    )
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 5.0)
        finally:
            watchdog.close()
            if membership is not None:
                try:
                    membership.leave()
                except redis.RedisError as exc:
                    logger.warning("Could not release leases on shutdown: %s", exc)
            connections.close_all()  # this thread's connections

    def _ensure_groups(self) -> None:
        client = self._client or get_redis()
        for topic, subs in self.subs.items():
            start = subs[0].start
            try:
                create_group(topic, self.group, start=start)
                logger.info("Created group %r on %r at %s.", self.group, topic, start)
            except GroupExists:
                pass
            for partition in get_topic(topic).partition_ids:
                ensure_group(topic, self.group, partition, client=client, start=start)
            try:
                client.xgroup_create(
                    redrive_key(topic, self.group), self.group, "0", mkstream=True
                )
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    def _load_bounds(self, client: redis.Redis, topics: list[str]) -> None:
        """Read the group's end bound on ``topics``; log when one changed."""
        for topic, until in read_bounds(client, self.group, topics).items():
            if until != self.bounds.get(topic):
                logger.info(
                    "Group %r on %r: %s.",
                    self.group,
                    topic,
                    "no end bound any more"
                    if until is None
                    else f"events from {until} ms on are acked, not handled",
                )
            self.bounds[topic] = until

    def sources(self) -> list[Source]:
        """Return every source of the group: each partition and each redrive stream."""
        found = []
        for topic in self.subs:
            for partition in get_topic(topic).partition_ids:
                found.append(Source(topic, partition, stream_key(topic, partition)))
            found.append(Source(topic, -1, redrive_key(topic, self.group)))
        return found

    # --- the loop ---------------------------------------------------------

    def _loop(
        self, client: redis.Redis, membership: Membership, processor: BatchProcessor
    ) -> None:
        next_beat = 0.0
        while True:
            now = time.monotonic()
            if now >= next_beat:
                self._maintain(client, membership)
                next_beat = now + self.heartbeat_every
            elif self._unowned(membership) and self._acquire(client, membership):
                membership.report(self._status())  # took a lease that was freed
            if self._stop.is_set():
                self._drain(processor)
                return
            self._read_pending(client)
            self._process(processor)
            now = time.monotonic()
            if not any(state.ready(now) for state in self.states.values()):
                waits = [next_beat - now, self.block_ms / 1000]
                waits += [s.retry_at - now for s in self.states.values() if s.buffer]
                self._fetch(client, max(1, int(min(waits) * 1000)))

    def _maintain(self, client: redis.Redis, membership: Membership) -> None:
        """Heartbeat, renew leases, and move towards this member's assignment."""
        self._load_bounds(client, list(self.subs))
        for lost in membership.renew():
            logger.warning("Group %r lost its lease on %s.", self.group, lost.label())
            self.states.pop(lost, None)
        members = membership.heartbeat()
        self._wanted = assign(self.sources(), members, self.member)
        wanted = set(self._wanted)
        for source in sorted(membership.owned - wanted):
            # Hand over between batches: nothing of this source is in flight.
            self.states.pop(source, None)
            membership.release(source)
            logger.info("Group %r released %s.", self.group, source.label())
        self._acquire(client, membership)
        membership.report(self._status())

    def _unowned(self, membership: Membership) -> bool:
        return any(source not in membership.owned for source in self._wanted)

    def _acquire(self, client: redis.Redis, membership: Membership) -> bool:
        acquired = False
        for source in self._wanted:
            if source not in membership.owned and membership.acquire(source):
                self._take_over(client, source)
                logger.info("Group %r now owns %s.", self.group, source.label())
                acquired = True
        return acquired

    def _take_over(self, client: redis.Redis, source: Source) -> None:
        """Claim the source's pending entries (a previous owner's) for this member."""
        start = "0-0"
        while True:
            # min-idle 0: holding the lease makes this member the only owner.
            # JUSTID leaves delivery counts alone, so they count deliveries to
            # handlers (what _read_pending judges by), and sends no bodies.
            reply = client.execute_command(
                "XAUTOCLAIM",
                source.key,
                self.group,
                self.member,
                0,
                start,
                "COUNT",
                1000,
                "JUSTID",
            )
            start = text(reply[0])
            if start == "0-0":
                break
        self._load_bounds(client, [source.topic])  # the bound as of taking it
        self.states[source] = SourceState(source)

    def _read_pending(self, client: redis.Redis) -> None:
        """Re-deliver a newly owned source's pending entries, in order, first.

        An entry already delivered more than once without an ack was in flight
        when workers died twice: it is re-delivered alone, so that a poison
        event dies alone, its neighbours are acked before it, and only its
        delivery count keeps growing until the batch processor dead-letters it.
        """
        for state in self.states.values():
            if state.pending_cursor is None or state.buffer:
                continue
            key = state.source.key
            cursor = state.pending_cursor
            times = {
                text(row["message_id"]): int(row["times_delivered"])
                for row in client.xpending_range(
                    key,
                    self.group,
                    "-" if cursor == "0-0" else f"({cursor}",
                    "+",
                    self.batch_size,
                    consumername=self.member,
                )
            }
            if not times:
                state.pending_cursor = None
                continue
            count = _delivered_together(list(times.values()))
            reply = self._xreadgroup(client, {key: cursor}, None, count)
            rows = [(sid, fields) for _, sid, fields in _rows(reply)]
            if not rows:
                state.pending_cursor = None
                continue
            state.pending_cursor = rows[-1][0]
            gone = [sid for sid, fields in rows if fields is None]
            if gone:  # trimmed while pending: nothing left to deliver
                client.xack(key, self.group, *gone)
            state.buffer.extend((sid, fields) for sid, fields in rows if fields)
            state.deliveries = {
                sid: times[sid]
                for sid, fields in rows
                if fields and times.get(sid, 0) > 1
            }

    def _process(self, processor: BatchProcessor) -> None:
        """Handle each ready source's buffer once (a failure stops that source)."""
        now = time.monotonic()
        for state in list(self.states.values()):
            if state.ready(now):
                close_old_connections()
                self._add(processor.process(state))

    def _fetch(self, client: redis.Redis, block_ms: int) -> None:
        streams = {
            state.source.key: ">"
            for state in self.states.values()
            if not state.buffer and state.pending_cursor is None
        }
        if not streams:
            self._stop.wait(block_ms / 1000)
            return
        reply = self._xreadgroup(client, streams, block_ms)
        by_key = {state.source.key: state.buffer for state in self.states.values()}
        for key, sid, fields in _rows(reply):
            if fields is not None:  # '>' never yields a trimmed entry; be safe
                by_key[key].append((sid, fields))

    def _xreadgroup(
        self,
        client: redis.Redis,
        streams: dict[Any, Any],
        block: int | None,
        count: int | None = None,
    ) -> Any:
        try:
            return client.xreadgroup(
                self.group,
                self.member,
                streams,
                count=count or self.batch_size,
                block=block,
            )
        except redis.ResponseError as exc:
            if not is_nogroup(exc):
                raise
            logger.warning("Group %r: NOGROUP on a source; repairing.", self.group)
            self._ensure_groups()
            return []

    def _drain(self, processor: BatchProcessor) -> None:
        """Finish what was fetched (the in-flight batch) before shutting down."""
        now = time.monotonic()
        for state in list(self.states.values()):
            if state.ready(now):
                self._add(processor.process(state))

    def _add(self, outcome: Outcome) -> None:
        for name, value in vars(outcome).items():
            setattr(self.totals, name, getattr(self.totals, name) + value)

    def _status(self) -> dict[str, Any]:
        return {"host": socket.gethostname(), "pid": os.getpid(), **vars(self.totals)}


def _delivered_together(deliveries: list[int]) -> int:
    """Return how many of a page of pending entries to re-deliver in one batch.

    ``deliveries`` are the page's delivery counts, in order. Entries delivered
    once go together up to the first entry delivered more than once, which
    goes alone.
    """
    if deliveries[0] > 1:
        return 1
    return next((n for n, times in enumerate(deliveries) if times > 1), len(deliveries))


def _unparsed(response: Any, **options: Any) -> Any:
    return response


def _fields(raw: list[bytes] | None) -> dict[bytes, bytes] | None:
    if raw is None:  # the entry was trimmed while pending
        return None
    if len(raw) == 2:  # the usual partition entry: just the envelope
        return {raw[0]: raw[1]}
    return dict(zip(raw[::2], raw[1::2], strict=True))


def _rows(reply: Any) -> Iterator[tuple[str, str, dict[bytes, bytes] | None]]:
    """Yield ``(stream key, entry id, fields)`` from a raw XREADGROUP reply."""
    # RESP3 (redis-py 8's default) answers a map; RESP2 a list of pairs.
    pairs = reply.items() if isinstance(reply, dict) else reply or []
    for key, entries in pairs:
        name = text(key)
        for sid, raw in entries:
            yield name, text(sid), _fields(raw)
