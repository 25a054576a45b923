"""Consumer groups on a topic: create, delete, list, record positions, repair.

A group exists once per partition stream (``XGROUP CREATE`` on each), plus a
``ConsumerGroup`` row that remembers where it started, and a recorded
position per partition (``positions_key``) that outlives the stream key. A
group lost with its key (``NOGROUP``) is re-created at the recorded position
(FIELD-NOTES), never looped on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

import redis
from django.db import IntegrityError, transaction

from eventbus._bounds import Until, check_range, read_untils, until_value, write_until
from eventbus._positions import set_position
from eventbus._targets import (
    Start,
    start_position,
    start_value,
    timestamp_ms,
    validate_group_name,
)
from eventbus.client import get_redis, redis_errors
from eventbus.exceptions import GroupExists, UnknownGroup
from eventbus.keys import create_claim_key, positions_key, stream_key, until_key
from eventbus.leases import Lease
from eventbus.models import ConsumerGroup
from eventbus.streams import group_states, text
from eventbus.topics import TopicInfo, get_topic, list_topics

logger = logging.getLogger(__name__)

T = TypeVar("T")
# How long a create_group may take before another process may try the same name.
CREATE_CLAIM_MS = 30_000


@dataclass(frozen=True)
class GroupPartition:
    """A group on one partition, as Redis reports it (``exists`` False if lost)."""

    partition: int
    exists: bool
    position: str | None = None  # last-delivered-id
    entries_read: int | None = None
    lag: int | None = None  # Redis's undelivered count; None when it cannot tell
    pending: int = 0
    consumers: int = 0
    recorded: str | None = None  # last position written to positions_key


@dataclass(frozen=True)
class GroupInfo:
    """A consumer group on a topic: its row (if any) merged with Redis."""

    topic: str
    name: str
    registered: bool  # a ConsumerGroup row exists
    start: str | None
    created_at: datetime | None
    partitions: tuple[GroupPartition, ...]
    until_ms: int | None = None  # end bound: events from then on are not handled

    @property
    def pending(self) -> int:
        return sum(p.pending for p in self.partitions)

    @property
    def consumers(self) -> int:
        return max((p.consumers for p in self.partitions), default=0)

    @property
    def missing_partitions(self) -> list[int]:
        return [p.partition for p in self.partitions if not p.exists]


def create_group(
    topic: str, group: str, *, start: Start = "latest", until: Until = None
) -> GroupInfo:
    """Create ``group`` on every partition of ``topic`` at ``start``.

    With ``until`` (ms, datetime or ISO 8601) the group handles only events
    before that time; its workers acknowledge later ones without handling
    them (``eventbus._bounds``): a replay of ``[start, until)``.
    """
    info = get_topic(topic)
    validate_group_name(group)
    value = start_value(start)
    until_ms = until_value(until)
    check_range(value, until_ms)
    client = get_redis()
    claim = Lease(client, create_claim_key(topic, group), CREATE_CLAIM_MS)
    if not claim.acquire():
        raise GroupExists(
            f"Group '{group}' is being created on topic '{topic}' by another "
            "process right now. In a few seconds, list the groups (manage.py "
            f"bus groups --topic {topic}) and reset or delete it from there."
        )
    try:
        return _create(client, info, group, value, until_ms)
    finally:
        claim.release()


def _create(
    client: redis.Redis, info: TopicInfo, group: str, value: str, until_ms: int | None
) -> GroupInfo:
    """Create the group; the caller holds the create claim of ``group``."""
    topic = info.name
    with redis_errors(f"create group '{group}' on '{topic}'"):
        exists_on = [
            p for p in info.partition_ids if group in group_states(client, topic, p)
        ]
        if exists_on or ConsumerGroup.objects.filter(topic=topic, name=group).exists():
            raise GroupExists(_exists_message(topic, group))
        created: list[int] = []
        try:
            # The bound first: a worker that finds the group must find its end.
            # Without one, a stale key (left by a raw XGROUP DESTROY) goes.
            write_until(client, topic, group, until_ms)
            for p in info.partition_ids:
                position = start_position(client, topic, p, value)
                set_position(client, topic, p, group, position, create=True)
                created.append(p)
            with transaction.atomic():  # a savepoint: IntegrityError leaves it usable
                ConsumerGroup.objects.create(topic=topic, name=group, start=value)
        except (redis.ResponseError, IntegrityError) as exc:
            _undo(client, topic, group, created)
            if isinstance(exc, IntegrityError) or "BUSYGROUP" in str(exc):
                raise GroupExists(_exists_message(topic, group)) from exc
            raise
        except BaseException:
            _undo(client, topic, group, created)
            raise
    return get_group(topic, group)


def _exists_message(topic: str, group: str) -> str:
    return (
        f"Group '{group}' already exists on topic '{topic}'. To move it, reset "
        f"it (manage.py bus reset {topic} {group} --to-earliest shows a dry run), "
        f"or delete it first (manage.py bus groups delete {topic} {group})."
    )


def _undo(client: redis.Redis, topic: str, group: str, partitions: list[int]) -> None:
    # Best effort: a half-created group would make the next create say "exists".
    try:
        client.delete(until_key(topic, group))
        for p in partitions:
            client.xgroup_destroy(stream_key(topic, p), group)
            client.hdel(positions_key(topic, p), group)
    except redis.RedisError:
        logger.exception("Could not undo the partial creation of group %r", group)


def delete_group(topic: str, group: str) -> None:
    """Delete ``group`` from every partition, its positions, bound and row.

    Its dead-letter stream is kept: it holds events nobody processed.
    """
    info = get_topic(topic)
    client = get_redis()
    get_group(topic, group)  # raises UnknownGroup
    with redis_errors(f"delete group '{group}' on '{topic}'"):
        pipe = client.pipeline(transaction=False)
        for p in info.partition_ids:
            pipe.hdel(positions_key(topic, p), group)
        pipe.delete(until_key(topic, group))
        pipe.execute()
        for p in info.partition_ids:
            try:
                client.xgroup_destroy(stream_key(topic, p), group)
            except redis.ResponseError as exc:
                if "no such key" not in str(exc).lower():
                    raise
    ConsumerGroup.objects.filter(topic=topic, name=group).delete()


def _row_map(topic: str | None) -> dict[tuple[str, str], ConsumerGroup]:
    rows = ConsumerGroup.objects.all()
    if topic is not None:
        rows = rows.filter(topic=topic)
    return {(row.topic, row.name): row for row in rows}


def _topic_groups(
    client: redis.Redis, topic: str, rows: dict[tuple[str, str], ConsumerGroup]
) -> list[GroupInfo]:
    info = get_topic(topic)
    states = {p: group_states(client, topic, p) for p in info.partition_ids}
    recorded = {
        p: recorded_positions(topic, p, client=client) for p in info.partition_ids
    }
    names = {name for by_name in states.values() for name in by_name}
    names |= {name for (t, name) in rows if t == topic}
    untils = read_untils(client, topic, sorted(names))
    groups: list[GroupInfo] = []
    for name in sorted(names):
        parts = []
        for p in info.partition_ids:
            state = states[p].get(name)
            if state is None:
                parts.append(GroupPartition(p, False, recorded=recorded[p].get(name)))
                continue
            parts.append(
                GroupPartition(
                    partition=p,
                    exists=True,
                    position=state.last_delivered_id,
                    entries_read=state.entries_read,
                    lag=state.lag,
                    pending=state.pending,
                    consumers=state.consumers,
                    recorded=recorded[p].get(name),
                )
            )
        row = rows.get((topic, name))
        groups.append(
            GroupInfo(
                topic=topic,
                name=name,
                registered=row is not None,
                start=row.start if row else None,
                created_at=row.created_at if row else None,
                partitions=tuple(parts),
                until_ms=untils.get(name),
            )
        )
    return groups


def list_groups(topic: str | None = None) -> list[GroupInfo]:
    """Return every group (of one topic, or of all), from Redis and the rows."""
    client = get_redis()
    rows = _row_map(topic)
    names = [topic] if topic is not None else [t.name for t in list_topics()]
    with redis_errors("list consumer groups"):
        return [group for name in names for group in _topic_groups(client, name, rows)]


def get_group(topic: str, group: str) -> GroupInfo:
    """Return one group, or raise ``UnknownGroup`` naming the topic's groups."""
    groups = list_groups(topic)
    for info in groups:
        if info.name == group:
            return info
    known = ", ".join(g.name for g in groups) or "none"
    raise UnknownGroup(
        f"No consumer group '{group}' on topic '{topic}' (groups: {known}). "
        f"Create it with manage.py bus groups create {topic} {group} "
        "[--start earliest|latest|TIME]."
    )


def record_positions(
    client: redis.Redis | redis.client.Pipeline,
    topic: str,
    partition: int,
    positions: Mapping[str, str],
) -> None:
    """Record groups' committed positions (one HSET; queue it on your pipeline)."""
    if positions:
        # redis-py's stub wants bytes-or-str keys; str keys are what it sends.
        key = positions_key(topic, partition)
        client.hset(key, mapping=dict(positions))  # type: ignore[arg-type]


def recorded_positions(
    topic: str, partition: int, *, client: redis.Redis | None = None
) -> dict[str, str]:
    """Return the recorded position of every group on one partition."""
    client = client or get_redis()
    raw = client.hgetall(positions_key(topic, partition))
    return {text(k): text(v) for k, v in raw.items()}


def _repair_position(
    client: redis.Redis, topic: str, group: str, partition: int, start: Start | None
) -> str:
    recorded = client.hget(positions_key(topic, partition), group)
    if recorded is not None:
        return text(recorded)
    row = ConsumerGroup.objects.filter(topic=topic, name=group).first()
    if row is not None:
        value = row.start
        if value == "latest":
            # A partition the group never had (grown later, or the hash was
            # lost): every event since the group was created is for it.
            value = str(timestamp_ms(row.created_at))
        return start_position(client, topic, partition, value)
    if start is not None:
        return start_position(client, topic, partition, start_value(start))
    raise UnknownGroup(
        f"Group '{group}' is missing on partition {partition} of '{topic}' and "
        "has no recorded position or ConsumerGroup row to re-create it from. "
        f"Create it with manage.py bus groups create {topic} {group}."
    )


def ensure_group(
    topic: str,
    group: str,
    partition: int,
    *,
    client: redis.Redis | None = None,
    start: Start | None = None,
) -> str | None:
    """Create ``group`` on a partition that lacks it; return where, else None.

    It goes back to its recorded position; without one, to the row's start
    policy; without a row, to ``start`` (else ``UnknownGroup``).
    """
    validate_group_name(group)
    client = client or get_redis()
    with redis_errors(f"ensure group '{group}' on '{topic}' partition {partition}"):
        if group in group_states(client, topic, partition):
            return None
        position = _repair_position(client, topic, group, partition, start)
        try:
            set_position(client, topic, partition, group, position, create=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" in str(exc):  # another worker repaired it first
                return None
            raise
    return position


def is_nogroup(exc: BaseException) -> bool:
    """Return True for Redis's "no such key or consumer group" error."""
    return isinstance(exc, redis.ResponseError) and str(exc).startswith("NOGROUP")


def with_group_repair(
    topic: str,
    group: str,
    partition: int,
    fn: Callable[[], T],
    *,
    client: redis.Redis | None = None,
) -> T:
    """Run ``fn``; on NOGROUP re-create the group on the partition, retry once."""
    try:
        return fn()
    except redis.ResponseError as exc:
        if not is_nogroup(exc):
            raise
    position = ensure_group(topic, group, partition, client=client)
    logger.warning(
        "Consumer group %r was missing on %s (NOGROUP); re-created at %s.",
        group,
        stream_key(topic, partition),
        position or "its position (repaired concurrently)",
    )
    try:
        return fn()
    except redis.ResponseError as exc:
        if not is_nogroup(exc):
            raise
        raise UnknownGroup(
            f"Group '{group}' vanished again from partition {partition} of "
            f"'{topic}' right after it was re-created. Something deletes the "
            "stream key (a FLUSHDB, DEL or eviction policy?); fix that first."
        ) from exc
