"""Retention planning: what a trim wants, may do, and holds back, per partition.

Pure reads (XINFO, XRANGE, XPENDING); ``eventbus.retention`` applies the
plans. See that module for the policy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import redis

from eventbus.client import get_redis, redis_errors
from eventbus.keys import positions_key, stream_key
from eventbus.models import OverflowPolicy
from eventbus.streams import (
    group_states,
    oldest_pending_id,
    parse_id,
    server_ms,
    stream_state,
    text,
)
from eventbus.topics import TopicInfo, get_topic

StreamId = tuple[int, int]
Counter = Callable[[StreamId | None], int]  # walked entries below an id
CHUNK = 1000
MAX_SEQ = 2**64 - 1


@dataclass(frozen=True)
class GroupImpact:
    """One group's unprocessed (pending or undelivered) events in a range."""

    group: str
    events: int
    slowest: bool = False  # its position sets the block-trim cut


@dataclass(frozen=True)
class PartitionPlan:
    """What trimming one partition wants, may do, and holds back."""

    partition: int
    length: int
    wanted_cut: str | None = None  # MINID the policy asks for (None: trim nothing)
    safe_cut: str | None = None  # first entry a group still needs (None: none)
    cut: str | None = None  # MINID to apply: entries with smaller ids go
    wanted: int = 0  # events the policy wants removed
    removes: int = 0  # events the cut removes
    held_back: int = 0  # wanted but kept because a group needs them
    held_by: tuple[GroupImpact, ...] = ()
    dropped_unprocessed: int = 0  # removed events some group has not processed
    dropped_by: tuple[GroupImpact, ...] = ()

    @property
    def blocking_groups(self) -> list[str]:
        """Return the slowest group(s), whose position holds retention back."""
        return [impact.group for impact in self.held_by if impact.slowest]


@dataclass(frozen=True)
class TrimPlan:
    """A topic's trim plan, one ``PartitionPlan`` per partition."""

    topic: str
    policy: str
    now_ms: int
    partitions: tuple[PartitionPlan, ...]

    @property
    def removes(self) -> int:
        return sum(p.removes for p in self.partitions)

    @property
    def held_back(self) -> int:
        return sum(p.held_back for p in self.partitions)

    @property
    def dropped_unprocessed(self) -> int:
        return sum(p.dropped_unprocessed for p in self.partitions)

    @property
    def blocking_groups(self) -> list[str]:
        """Return every group that holds retention back on some partition."""
        return sorted({g for p in self.partitions for g in p.blocking_groups})


@dataclass(frozen=True)
class TrimReport:
    """The outcome of ``trim``: the plan and what XTRIM removed."""

    plan: TrimPlan
    dry_run: bool
    removed_by_partition: dict[int, int]  # partition -> removed (empty: dry run)

    @property
    def topic(self) -> str:
        return self.plan.topic

    @property
    def removed(self) -> int:
        """Return how many events were removed from the topic (0 on a dry run)."""
        return sum(self.removed_by_partition.values())


@dataclass(frozen=True)
class _Group:
    name: str
    after_delivered: StreamId | None  # first entry after last-delivered (None: none)
    oldest_pending: StreamId | None  # oldest pending entry still in the stream

    @property
    def need(self) -> StreamId | None:
        return _min(self.after_delivered, self.oldest_pending)


def _fmt(sid: StreamId) -> str:
    return f"{sid[0]}-{sid[1]}"


def _min(*ids: StreamId | None) -> StreamId | None:
    """Return the smallest id; ``None`` stands for "no bound" (infinity)."""
    present = [sid for sid in ids if sid is not None]
    return min(present) if present else None


def _successor(sid: StreamId) -> StreamId:
    return (sid[0] + 1, 0) if sid[1] == MAX_SEQ else (sid[0], sid[1] + 1)


def plan_trim(
    topic: str | TopicInfo,
    *,
    now_ms: int | None = None,
    client: redis.Redis | None = None,
) -> TrimPlan:
    """Plan the trim of every partition of ``topic`` without changing anything."""
    info = topic if isinstance(topic, TopicInfo) else get_topic(topic)
    client = client or get_redis()
    with redis_errors(f"plan the trim of topic '{info.name}'"):
        now = server_ms(client) if now_ms is None else now_ms
        plans = tuple(_plan_partition(client, info, p, now) for p in info.partition_ids)
    return TrimPlan(info.name, info.overflow_policy, now, plans)


def _plan_partition(
    client: redis.Redis, info: TopicInfo, partition: int, now_ms: int
) -> PartitionPlan:
    state = stream_state(client, info.name, partition)
    nothing = PartitionPlan(partition, state.length)
    if not state.length or state.first_id is None:
        return nothing
    first = parse_id(state.first_id)
    age_cut = (max(now_ms - info.retention_ms, 0), 0) if info.retention_ms else None
    over = state.length - info.retention_max_len if info.retention_max_len else 0
    if over <= 0 and (age_cut is None or first >= age_cut):
        return nothing
    key = stream_key(info.name, partition)
    groups = _groups(client, info.name, partition, first)
    safe = _min(*(g.need for g in groups))
    marks = {m for m in (safe, *(g.after_delivered for g in groups)) if m is not None}
    wanted, wanted_cut, below = _walk(client, key, age_cut, max(over, 0), marks)
    if wanted == 0 or wanted_cut is None:
        return nothing

    def count_below(sid: StreamId | None) -> int:
        """Count the wanted entries with ids below ``sid`` (None: all of them)."""
        return wanted if sid is None or sid >= wanted_cut else below.get(sid, wanted)

    block = info.overflow_policy != OverflowPolicy.DROP_OLDEST
    cut = _min(wanted_cut, safe) if block else wanted_cut
    assert cut is not None
    removes = count_below(cut)
    plan = PartitionPlan(
        partition,
        state.length,
        wanted_cut=_fmt(wanted_cut),
        safe_cut=_fmt(safe) if safe is not None else None,
        cut=_fmt(cut),
        wanted=wanted,
        removes=removes,
        held_back=wanted - removes,
    )
    if block and plan.held_back:
        held_by = _impacts(client, key, groups, cut, wanted_cut, first, count_below)
        slowest = [
            GroupImpact(i.group, i.events, slowest=g.need == cut)
            for i, g in zip(held_by, groups, strict=True)
        ]
        kept = [i for i in slowest if i.events or i.slowest]
        kept.sort(key=lambda i: (not i.slowest, -i.events, i.group))
        return replace(plan, held_by=tuple(kept))
    if not block and groups:
        dropped_by = _impacts(client, key, groups, None, cut, first, count_below)
        total = _dropped_total(client, key, groups, cut, first, count_below)
        kept = sorted((i for i in dropped_by if i.events), key=lambda i: -i.events)
        return replace(plan, dropped_unprocessed=total, dropped_by=tuple(kept))
    return plan


def _groups(
    client: redis.Redis, topic: str, partition: int, first: StreamId
) -> list[_Group]:
    """Return each group's first still-needed entries on the partition.

    Groups lost with the stream key (absent from XINFO but with a recorded
    position) count too: they will be re-created at that position.
    """
    key = stream_key(topic, partition)
    states = group_states(client, topic, partition)
    positions = {name: state.last_delivered_id for name, state in states.items()} | {
        text(name): text(at)
        for name, at in client.hgetall(positions_key(topic, partition)).items()
        if text(name) not in states
    }
    groups = []
    for name, last_delivered in sorted(positions.items()):
        # The first entry after last-delivered, not last-delivered + 1: a group
        # at 0-0 or before the first entry then simply needs the first entry.
        after = client.xrange(key, f"({last_delivered}", "+", count=1)
        pending = None
        if name in states:
            pending_raw = oldest_pending_id(client, topic, partition, name)
            pending = parse_id(pending_raw) if pending_raw else None
        if pending is not None and pending < first:
            # Pending ids of trimmed entries stay in the PEL until claimed;
            # they protect nothing, so look for the oldest one still present.
            rows = client.xpending_range(key, name, _fmt(first), "+", 1)
            pending = parse_id(text(rows[0]["message_id"])) if rows else None
        groups.append(
            _Group(name, parse_id(text(after[0][0])) if after else None, pending)
        )
    return groups


def _walk(
    client: redis.Redis,
    key: str,
    age_cut: StreamId | None,
    over: int,
    marks: Iterable[StreamId],
) -> tuple[int, StreamId | None, dict[StreamId, int]]:
    """Walk the entries the policy wants removed, oldest first.

    Return how many there are, the cut (the first entry to keep, or just past
    the last entry when every entry goes) and, for each mark, how many of the
    walked entries lie below it. Work is proportional to the entries removed.
    """
    pending_marks = sorted(marks)
    below: dict[StreamId, int] = {}
    wanted = 0
    last: StreamId | None = None
    start = "-"
    while True:
        rows: list[Any] = client.xrange(key, start, "+", count=CHUNK) or []
        for raw_id, _fields in rows:
            sid = parse_id(text(raw_id))
            while pending_marks and pending_marks[0] <= sid:
                below[pending_marks.pop(0)] = wanted
            if wanted >= over and (age_cut is None or sid >= age_cut):
                return wanted, sid, below
            wanted += 1
            last = sid
        if len(rows) < CHUNK:
            break
        start = f"({_fmt(last)}" if last else start
    # Every entry goes: cut just past the last one, never at the age cut itself,
    # so an entry appended meanwhile (id above the last one) always survives.
    return wanted, _successor(last) if last else None, below


def _pending_ids(
    client: redis.Redis, key: str, group: str, low: StreamId, high: StreamId
) -> list[StreamId]:
    """Return the group's pending ids in ``[low, high)``, paging the PEL."""
    found: list[StreamId] = []
    if high <= low:
        return found
    start = _fmt(low)
    while True:
        rows = client.xpending_range(key, group, start, f"({_fmt(high)}", CHUNK)
        found.extend(parse_id(text(row["message_id"])) for row in rows)
        if len(rows) < CHUNK:
            return found
        start = f"({_fmt(found[-1])}"


def _impacts(
    client: redis.Redis,
    key: str,
    groups: list[_Group],
    low: StreamId | None,
    high: StreamId,
    first: StreamId,
    below: Counter,
) -> list[GroupImpact]:
    """Count each group's unprocessed events among entries in ``[low, high)``."""
    impacts = []
    for group in groups:
        start = low or (0, 0)
        undelivered = 0
        if group.after_delivered is not None and group.after_delivered < high:
            from_id = max(start, group.after_delivered)
            undelivered = below(high) - below(from_id)
        pending = (
            _pending_ids(client, key, group.name, max(start, first), high)
            if group.oldest_pending is not None
            else []
        )
        impacts.append(GroupImpact(group.name, undelivered + len(pending)))
    return impacts


def _dropped_total(
    client: redis.Redis,
    key: str,
    groups: list[_Group],
    cut: StreamId,
    first: StreamId,
    below: Counter,
) -> int:
    """Count removed entries that at least one group has not processed."""
    earliest_undelivered = _min(*(g.after_delivered for g in groups))
    bound = _min(earliest_undelivered, cut)
    assert bound is not None
    undelivered = below(cut) - below(bound)
    # Below ``bound`` every group has been delivered everything: what is
    # unprocessed there is pending somewhere; count each entry once.
    pending = {
        sid
        for g in groups
        if g.oldest_pending is not None
        for sid in _pending_ids(client, key, g.name, first, bound)
    }
    return undelivered + len(pending)
