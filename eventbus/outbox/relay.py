"""The relay: move committed outbox rows to the log, each exactly once.

One relay works at a time per database alias (a lease in Redis), so two
relays never interleave writes. A batch goes through four steps:

1. recover rows whose last attempt died between XADD and marking them;
2. claim the oldest unpublished rows and COMMIT ``attempted_at_ms`` (Redis
   time) before writing, so an attempt that dies later is detectable;
3. append them to their partitions in one MULTI/EXEC (all or none);
4. mark them published with their stream ids.

A crash between 3 and 4 leaves rows with ``attempted_at_ms`` set and no
``published_at``; step 1 of the next batch finds their envelope ids in the
stream at ids >= ``attempted_at_ms`` (an XADD id is never older than the
server clock when it ran) and marks them instead of writing them again.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import orjson
import redis
from django.db import transaction
from django.utils import timezone

from eventbus.client import get_redis, redis_errors
from eventbus.envelope import FIELD
from eventbus.keys import outbox_lease_key, stream_key
from eventbus.leases import Lease
from eventbus.models import OutboxEvent
from eventbus.producer import Prepared, Published, write
from eventbus.streams import server_ms

logger = logging.getLogger("eventbus.outbox")

# Long enough for a slow database round trip; a relay that dies holding it
# stalls relaying for at most this long. Renewed before each step.
LEASE_MS = 30_000
# attempted_at_ms is set this far in the past: a small backward step of the
# Redis clock between TIME and XADD must not hide the entry from recovery.
CLOCK_MARGIN_MS = 2_000
# Keep one MULTI/EXEC small enough not to stall Redis for other clients.
MAX_BATCH_BYTES = 8 * 1024 * 1024
RECOVERY_CHUNK = 1_000
SCAN_PAGE = 1_000

_FIELDS = ("id", "event_id", "topic", "partition", "payload", "attempted_at_ms")


@dataclass(frozen=True)
class RelayResult:
    """What one relay batch did."""

    leased: bool  # False: another relay held the lease, nothing was done
    published: int  # rows marked published (written now or recovered)
    recovered: int  # rows found already in the log from a dead attempt
    more: bool  # the batch was full: more rows may be waiting


def relay_pending(*, limit: int = 500, using: str = "default") -> int:
    """Publish up to ``limit`` committed outbox rows; return how many were marked.

    Returns 0 at once when another relay holds the lease. Call it outside a
    transaction: the attempt mark must be committed before the write.
    """
    return relay_batch(limit=limit, using=using).published


def relay_batch(*, limit: int = 500, using: str = "default") -> RelayResult:
    """Run one relay batch under the lease and report what it did."""
    if limit < 1:
        raise ValueError(f"limit must be at least 1, not {limit!r}.")
    client = get_redis()
    lease = Lease(client, outbox_lease_key(using), LEASE_MS)
    if not lease.acquire():
        return RelayResult(leased=False, published=0, recovered=0, more=False)
    try:
        recovered = recover(client, using, heartbeat=lease.renew)
        lease.renew()
        batch, more = claim(client, limit, using)
        if not batch:
            return RelayResult(True, recovered, recovered, more=False)
        # Renewed right before the write: a relay that paused past its lease
        # stops here instead of racing the next holder's recovery.
        lease.renew()
        published = write_rows(client, batch)
        mark_published(batch, [p.position.stream_id for p in published], using)
        logger.debug(
            "Relayed %d outbox event(s) (%d recovered).", len(batch), recovered
        )
        return RelayResult(True, recovered + len(batch), recovered, more)
    finally:
        try:
            lease.release()
        except Exception as exc:  # it expires on its own; the result stands
            logger.warning("Could not release the outbox relay lease: %s", exc)


def recover(
    client: redis.Redis, using: str, heartbeat: Callable[[], None] = lambda: None
) -> int:
    """Mark rows of a dead attempt that did reach the log; return how many.

    ``heartbeat`` is called between pages of a long scan (to renew the lease).
    """
    pending = OutboxEvent.objects.using(using).filter(
        published_at__isnull=True, attempted_at_ms__isnull=False
    )
    recovered = 0
    last_id = 0
    while True:
        rows = list(
            pending.filter(id__gt=last_id)
            .order_by("id")
            .only("id", "event_id", "topic", "partition", "attempted_at_ms")[
                :RECOVERY_CHUNK
            ]
        )
        if not rows:
            return recovered
        last_id = rows[-1].pk
        found: list[OutboxEvent] = []
        stream_ids: list[str] = []
        by_partition: dict[tuple[str, int], list[OutboxEvent]] = defaultdict(list)
        for row in rows:
            by_partition[(row.topic, row.partition)].append(row)
        for (topic, partition), group in by_partition.items():
            ids = _find_in_stream(client, topic, partition, group, heartbeat)
            for row in group:
                if row.event_id in ids:
                    found.append(row)
                    stream_ids.append(ids[row.event_id])
        if found:
            mark_published(found, stream_ids, using)
            recovered += len(found)
            logger.warning(
                "Recovered %d outbox event(s) that reached the log before their "
                "relay stopped; marked them published without writing them again.",
                len(found),
            )
        # Rows not found were never written: claim() sends them as usual.


def _find_in_stream(
    client: redis.Redis,
    topic: str,
    partition: int,
    rows: list[OutboxEvent],
    heartbeat: Callable[[], None],
) -> dict[str, str]:
    """Return ``{event_id: stream_id}`` for the rows' events found in the partition."""
    wanted = {row.event_id for row in rows}
    start = f"{min(row.attempted_at_ms or 0 for row in rows)}-0"
    key = stream_key(topic, partition)
    found: dict[str, str] = {}
    with redis_errors(f"look for relayed outbox events in {key}"):
        while wanted:
            entries = cast(
                "list[tuple[bytes, dict[bytes, bytes]]]",
                client.xrange(key, min=start, max="+", count=SCAN_PAGE),
            )
            for sid, fields in entries:
                event_id = _envelope_id(fields.get(FIELD))
                if event_id is not None and event_id in wanted:
                    wanted.discard(event_id)
                    found[event_id] = sid.decode()
            if len(entries) < SCAN_PAGE:
                break
            start = "(" + entries[-1][0].decode()  # exclusive: after the last seen
            heartbeat()
    return found


def _envelope_id(wire: bytes | None) -> str | None:
    if wire is None:
        return None
    try:
        value = orjson.loads(wire).get("id")
    except (orjson.JSONDecodeError, AttributeError):
        return None  # not an envelope of ours; it cannot be an outbox event
    return value if isinstance(value, str) else None


def claim(
    client: redis.Redis, limit: int, using: str
) -> tuple[list[OutboxEvent], bool]:
    """Take the oldest unpublished rows and commit their attempt time.

    Rows go out in id (insert) order, so events of one producer transaction
    or thread keep their order. Two transactions that commit out of insert
    order can have the later row published first (the earlier one is not
    visible yet); that is the same as two independent publishes racing, so
    per-key order is only promised within one producer.
    """
    rows = list(
        OutboxEvent.objects.using(using)
        .filter(published_at__isnull=True)
        .order_by("id")
        .only(*_FIELDS)[:limit]
    )
    batch: list[OutboxEvent] = []
    size = 0
    for row in rows:
        size += len(row.payload)
        if batch and size > MAX_BATCH_BYTES:
            break
        batch.append(row)
    if not batch:
        return [], False
    with redis_errors("read the Redis server time"):
        attempted = server_ms(client) - CLOCK_MARGIN_MS
    # Committed on its own (autocommit) before anything is written to Redis.
    OutboxEvent.objects.using(using).filter(pk__in=[row.pk for row in batch]).update(
        attempted_at_ms=attempted
    )
    for row in batch:
        row.attempted_at_ms = attempted
    return batch, len(rows) == limit or len(batch) < len(rows)


def write_rows(client: redis.Redis, batch: list[OutboxEvent]) -> list[Published]:
    """Append the rows' encoded envelopes to their partitions (all or none)."""
    prepared = [
        Prepared(row.topic, row.partition, row.event_id, bytes(row.payload))
        for row in batch
    ]
    return write(prepared, client)


def mark_published(rows: list[OutboxEvent], stream_ids: list[str], using: str) -> None:
    """Record the rows' stream ids and publication time in one transaction."""
    now = timezone.now()
    for row, stream_id in zip(rows, stream_ids, strict=True):
        row.published_at = now
        row.stream_id = stream_id
    with transaction.atomic(using=using):
        OutboxEvent.objects.using(using).bulk_update(
            rows, ["published_at", "stream_id"], batch_size=500
        )
