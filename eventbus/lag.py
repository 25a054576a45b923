"""Lag per group and partition: undelivered + pending, and time lag.

Redis 7's ``lag`` counts undelivered entries only, is NULL after a create or
reset without ENTRIESREAD or a deletion after the group's position, and is
too high (it still counts trimmed entries) once retention trims past the
group's position (checked on 7.0.15). So it is used only where it is exact,
and the rest is counted; unknown is ``None``, never 0 (FIELD-NOTES).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis

from eventbus._positions import before, count_after, entry_ids
from eventbus.client import get_redis, redis_errors
from eventbus.exceptions import UnknownGroup
from eventbus.keys import stream_key
from eventbus.models import ConsumerGroup
from eventbus.streams import (
    GroupState,
    StreamState,
    group_states,
    oldest_pending_id,
    parse_id,
    server_ms,
    stream_state,
)
from eventbus.topics import TopicInfo, get_topic


@dataclass(frozen=True)
class PartitionLag:
    """One group's lag on one partition; ``None`` means unknown (see ``note``)."""

    partition: int
    position: str | None  # last delivered id
    undelivered: int | None
    pending: int
    backlog: int | None  # undelivered + pending
    time_lag_ms: int | None  # age of the oldest unprocessed event; 0 if none
    oldest_unprocessed_id: str | None
    note: str = ""


@dataclass(frozen=True)
class GroupLag:
    """One group's lag on every partition of a topic, with totals."""

    topic: str
    group: str
    now_ms: int  # Redis server time the ages were measured against
    partitions: tuple[PartitionLag, ...]

    @property
    def undelivered(self) -> int | None:
        return _total([p.undelivered for p in self.partitions])

    @property
    def pending(self) -> int:
        return sum(p.pending for p in self.partitions)

    @property
    def backlog(self) -> int | None:
        return _total([p.backlog for p in self.partitions])

    @property
    def time_lag_ms(self) -> int | None:
        ages = [p.time_lag_ms for p in self.partitions]
        if any(age is None for age in ages):
            return None
        return max((age for age in ages if age is not None), default=0)

    @property
    def known(self) -> bool:
        return all(p.backlog is not None for p in self.partitions)


def _total(values: list[int | None]) -> int | None:
    if any(value is None for value in values):
        return None
    return sum(value for value in values if value is not None)


def undelivered_count(
    client: redis.Redis,
    topic: str,
    partition: int,
    group: GroupState,
    stream: StreamState,
) -> int:
    """Return how many entries the group has not been delivered yet, exactly."""
    position = group.last_delivered_id
    if stream.length == 0:
        return 0
    assert stream.first_id is not None
    if before(position, stream.first_id):
        # Trimmed past the position: everything left is undelivered, and
        # Redis's lag would still count the trimmed entries.
        return stream.length
    if group.lag is not None:
        return int(group.lag)
    return count_after(client, topic, partition, position).after


def _oldest_undelivered(
    client: redis.Redis, topic: str, partition: int, position: str, stream: StreamState
) -> str | None:
    assert stream.first_id is not None
    if before(position, stream.first_id):
        return stream.first_id
    key = stream_key(topic, partition)
    rows = entry_ids(client.xrange(key, min=f"({position}", max="+", count=1))
    return rows[0] if rows else None


def partition_lag(
    client: redis.Redis,
    topic: str,
    partition: int,
    group: str,
    *,
    now_ms: int,
    stream: StreamState | None = None,
    groups: dict[str, GroupState] | None = None,
) -> PartitionLag:
    """Return ``group``'s lag on one partition (states may be passed in)."""
    stream = stream or stream_state(client, topic, partition)
    groups = groups if groups is not None else group_states(client, topic, partition)
    state = groups.get(group)
    if not stream.exists or state is None:
        why = "stream key missing" if not stream.exists else "group missing"
        return PartitionLag(
            partition,
            None,
            None,
            0,
            None,
            None,
            None,
            note=f"{why} on this partition; it is re-created at its recorded "
            "position on the next read",
        )
    undelivered = undelivered_count(client, topic, partition, state, stream)
    candidates = []
    if state.pending:
        candidates.append(oldest_pending_id(client, topic, partition, group))
    if undelivered:
        # Pending ids normally precede the position, but a raw XGROUP SETID
        # backwards can leave newer ones pending: take the older of both.
        candidates.append(
            _oldest_undelivered(
                client, topic, partition, state.last_delivered_id, stream
            )
        )
    known = [c for c in candidates if c is not None]
    oldest = min(known, key=parse_id) if known else None
    age = 0 if oldest is None else max(now_ms - parse_id(oldest)[0], 0)
    return PartitionLag(
        partition=partition,
        position=state.last_delivered_id,
        undelivered=undelivered,
        pending=state.pending,
        backlog=undelivered + state.pending,
        time_lag_ms=age,
        oldest_unprocessed_id=oldest,
    )


def _lags(
    client: redis.Redis, info: TopicInfo, names: list[str]
) -> dict[str, GroupLag]:
    now = server_ms(client)
    per_group: dict[str, list[PartitionLag]] = {name: [] for name in names}
    for p in info.partition_ids:
        stream = stream_state(client, info.name, p)
        groups = group_states(client, info.name, p)
        for name in names:
            per_group[name].append(
                partition_lag(
                    client, info.name, p, name, now_ms=now, stream=stream, groups=groups
                )
            )
    return {
        name: GroupLag(info.name, name, now, tuple(parts))
        for name, parts in per_group.items()
    }


def _group_names(client: redis.Redis, info: TopicInfo) -> list[str]:
    names = set(
        ConsumerGroup.objects.filter(topic=info.name).values_list("name", flat=True)
    )
    for p in info.partition_ids:
        names.update(group_states(client, info.name, p))
    return sorted(names)


def group_lag(topic: str, group: str) -> GroupLag:
    """Return ``group``'s lag on every partition of ``topic``."""
    info = get_topic(topic)
    client = get_redis()
    with redis_errors(f"read the lag of '{group}' on '{topic}'"):
        names = _group_names(client, info)
        if group not in names:
            raise UnknownGroup(
                f"No consumer group '{group}' on topic '{topic}' (groups: "
                f"{', '.join(names) or 'none'}). Check the name with "
                "manage.py bus groups --topic " + topic + "."
            )
        return _lags(client, info, [group])[group]


def topic_lag(topic: str) -> list[GroupLag]:
    """Return the lag of every group on ``topic``, by group name."""
    info = get_topic(topic)
    client = get_redis()
    with redis_errors(f"read the lag of the groups on '{topic}'"):
        names = _group_names(client, info)
        lags = _lags(client, info, names)
    return [lags[name] for name in names]
