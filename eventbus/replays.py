"""Replaying a time range: a group's end bound, and how far it got.

``create_group(topic, group, start=T1, until=T2)`` makes a group that
handles the events of ``[T1, T2)``; its workers acknowledge everything from
``T2`` on without running handlers (``eventbus._bounds``). Here the bound is
read and moved, and the range's progress is measured per partition, so a
page can say "done" once nothing inside the range is left to handle.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from eventbus._bounds import Until, check_range, read_until, until_value, write_until
from eventbus._positions import before, count_after
from eventbus._targets import position_before
from eventbus.client import get_redis, redis_errors
from eventbus.groups import get_group
from eventbus.keys import stream_key
from eventbus.lag import undelivered_count
from eventbus.streams import group_states, server_ms, stream_state
from eventbus.topics import get_topic


def group_until(topic: str, group: str) -> int | None:
    """Return ``group``'s end bound on ``topic`` (ms since the epoch), or None."""
    get_topic(topic)
    client = get_redis()
    with redis_errors(f"read the end bound of '{group}' on '{topic}'"):
        return read_until(client, topic, group)


def set_group_until(topic: str, group: str, until: Until) -> int | None:
    """Set (or with None clear) ``group``'s end bound; return it in ms.

    Running workers pick the change up within one heartbeat.
    """
    info = get_group(topic, group)  # raises UnknownGroup
    until_ms = until_value(until)
    check_range(info.start or "", until_ms)
    client = get_redis()
    with redis_errors(f"set the end bound of '{group}' on '{topic}'"):
        write_until(client, topic, group, until_ms)
    return until_ms


@dataclass(frozen=True)
class PartitionRange:
    """One partition's part of a replay range."""

    partition: int
    end_id: str  # the last event inside the range ('0-0': none)
    remaining: int | None  # in-range events not yet handled; None: unknown
    done: bool  # nothing inside the range is left, and none can still arrive


@dataclass(frozen=True)
class GroupRange:
    """A bounded group's range and its progress on every partition."""

    topic: str
    group: str
    start: str | None  # the row's start policy: earliest, latest or ms
    until_ms: int
    now_ms: int  # Redis server time the progress was measured at
    partitions: tuple[PartitionRange, ...]

    @property
    def done(self) -> bool:
        return all(p.done for p in self.partitions)

    @property
    def remaining(self) -> int | None:
        left = [p.remaining for p in self.partitions]
        if any(n is None for n in left):
            return None
        return sum(n for n in left if n is not None)


def range_progress(topic: str, group: str) -> GroupRange | None:
    """Return the progress of ``group`` through its range, or None if unbounded."""
    info = get_group(topic, group)  # raises UnknownGroup
    if info.until_ms is None:
        return None
    until = info.until_ms
    client = get_redis()
    with redis_errors(f"measure the replay range of '{group}' on '{topic}'"):
        now = server_ms(client)
        parts = tuple(
            _partition_range(client, topic, p.partition, group, until, now)
            for p in info.partitions
        )
    return GroupRange(topic, group, info.start, until, now, parts)


def _partition_range(
    client: redis.Redis, topic: str, partition: int, group: str, until: int, now: int
) -> PartitionRange:
    end_id = position_before(client, topic, partition, f"{until}-0")
    stream = stream_state(client, topic, partition)
    state = group_states(client, topic, partition).get(group)
    if state is None or not stream.exists:
        return PartitionRange(partition, end_id, None, False)
    undelivered = 0
    if before(state.last_delivered_id, end_id):
        # All that is undelivered, less what lies beyond the end: both ends
        # are cheap to count while a replay runs (Redis's lag, and the few
        # events published after the end).
        total = undelivered_count(client, topic, partition, state, stream)
        beyond = count_after(client, topic, partition, end_id).after
        undelivered = max(total - beyond, 0)
    pending = 0
    if state.pending:
        rows = client.xpending_range(
            stream_key(topic, partition),
            group,
            min="-",
            max=f"({until}-0",
            count=state.pending,
        )
        pending = len(rows)
    remaining = undelivered + pending
    # A new entry's id is never below the server's clock (nor the last id),
    # so once the clock passed the end nothing can arrive inside the range.
    done = remaining == 0 and now >= until
    return PartitionRange(partition, end_id, remaining, done)
