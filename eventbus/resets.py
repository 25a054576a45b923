"""Reset a group's positions, with a dry run that counts what will be re-delivered.

A position is the id of the last event the group considers delivered
(``XGROUP SETID`` sets ``last-delivered-id``), so "to time T" makes the first
event at or after T the next one delivered, and "to id X" makes X itself the
next one delivered.

Applying a reset acknowledges the group's pending entries on the reset
partitions: against the new position they would otherwise be delivered twice
(a position before them) or retried although skipped (after them). Run a
reset with the group's consumers stopped, as Kafka refuses to reset an active
group; the plan warns when they look active or hold pending entries.

Plan and apply are two steps that may see different streams. The positions
are fixed by the plan (what the operator previewed); the counts behind
ENTRIESREAD are recomputed at apply time and checked atomically with the
write (``_positions.set_position``), and the applied plan reports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import redis

from eventbus._positions import count_after, set_position
from eventbus._targets import (
    ResetTarget,
    parse_duration,
    resolve,
    timestamp_target,
)
from eventbus.client import get_redis, redis_errors
from eventbus.exceptions import InvalidReset, UnknownGroup
from eventbus.keys import stream_key
from eventbus.lag import partition_lag
from eventbus.models import ConsumerGroup
from eventbus.streams import GroupState, group_states, server_ms, stream_state, text
from eventbus.topics import TopicInfo, get_topic

__all__ = [
    "PartitionReset",
    "ResetPlan",
    "ResetTarget",
    "apply_reset",
    "parse_duration",
    "plan_reset",
    "reset_group",
    "timestamp_target",
]

ACTIVE_MS = 60_000  # a consumer that read this recently is probably running


@dataclass(frozen=True)
class PartitionReset:
    """One partition of a reset plan."""

    partition: int
    current_position: str | None  # None: the group is missing on the partition
    new_position: str
    entries_read: int  # ENTRIESREAD for the new position
    to_deliver: int  # events after the new position: delivered after the reset
    current_backlog: int | None  # undelivered + pending now; None when unknown
    pending: int  # pending entries the reset acknowledges
    consumers: int

    @property
    def change(self) -> int | None:
        """Backlog after the reset minus backlog now (negative: skipped)."""
        if self.current_backlog is None:
            return None
        return self.to_deliver - self.current_backlog


@dataclass(frozen=True)
class ResetPlan:
    """A reset of one group on some partitions, previewed or applied."""

    topic: str
    group: str
    target: ResetTarget
    partitions: tuple[PartitionReset, ...]
    warnings: tuple[str, ...] = field(default=())
    applied: bool = False

    @property
    def to_deliver(self) -> int:
        return sum(p.to_deliver for p in self.partitions)


def _select(info: TopicInfo, partitions: list[int] | None) -> list[int]:
    if partitions is None:
        return list(info.partition_ids)
    chosen = sorted(set(partitions))
    bad = [p for p in chosen if p not in info.partition_ids]
    if not chosen or bad:
        raise InvalidReset(
            f"Topic '{info.name}' has partitions 0..{info.partitions - 1}; "
            f"{bad or 'an empty list'} cannot be reset. Name existing partitions, "
            "e.g. --partitions 0,2, or leave them out to reset all."
        )
    return chosen


def _warnings(
    client: redis.Redis, topic: str, group: str, parts: list[PartitionReset]
) -> list[str]:
    warnings = []
    pending = [p for p in parts if p.pending]
    if pending:
        total = sum(p.pending for p in pending)
        where = ", ".join(str(p.partition) for p in pending)
        warnings.append(
            f"{total} pending (delivered, not acknowledged) entries on partition(s) "
            f"{where}: applying acknowledges them, so only events after the new "
            "position are delivered. Stop the group's consumers first."
        )
    for part in parts:
        if not part.consumers:
            continue
        rows = client.xinfo_consumers(stream_key(topic, part.partition), group)
        active = [r for r in rows if int(r.get("idle", ACTIVE_MS)) < ACTIVE_MS]
        if active:
            names = ", ".join(text(r["name"]) for r in active)
            warnings.append(
                f"Consumer(s) {names} read partition {part.partition} less than "
                f"{ACTIVE_MS // 1000}s ago: the group looks active. Stop its "
                "consumers before applying, or they may move it again."
            )
    missing = [str(p.partition) for p in parts if p.current_position is None]
    if missing:
        warnings.append(
            f"The group is missing on partition(s) {', '.join(missing)}; applying "
            "creates it there at the new position."
        )
    return warnings


def plan_reset(
    topic: str,
    group: str,
    target: ResetTarget,
    *,
    partitions: list[int] | None = None,
) -> ResetPlan:
    """Return what resetting ``group`` to ``target`` would do; change nothing."""
    info = get_topic(topic)
    selected = _select(info, partitions)
    if target.kind == "id" and len(selected) != 1:
        raise InvalidReset(
            f"An event id belongs to one partition, but {len(selected)} are "
            f"selected on '{topic}'. Name the event's partition, e.g. "
            f"--partitions {selected[0]}."
        )
    client = get_redis()
    with redis_errors(f"plan a reset of '{group}' on '{topic}'"):
        now = server_ms(client)
        streams = {p: stream_state(client, topic, p) for p in selected}
        groups = {p: group_states(client, topic, p) for p in selected}
        _require(topic, group, info, groups)
        if target.kind == "group":
            _require(topic, str(target.value), info, groups)
        parts = []
        for p in selected:
            state = groups[p].get(group)
            current = state.last_delivered_id if state else None
            source = (
                groups[p].get(str(target.value)) if target.kind == "group" else None
            )
            new = resolve(client, info, p, target, current, streams[p], source, now)
            count = count_after(client, topic, p, new)
            lag = partition_lag(
                client, topic, p, group, now_ms=now, stream=streams[p], groups=groups[p]
            )
            parts.append(
                PartitionReset(
                    partition=p,
                    current_position=current,
                    new_position=new,
                    entries_read=count.entries_read,
                    to_deliver=count.after,
                    current_backlog=lag.backlog,
                    pending=state.pending if state else 0,
                    consumers=state.consumers if state else 0,
                )
            )
        warnings = _warnings(client, topic, group, parts)
    return ResetPlan(topic, group, target, tuple(parts), tuple(warnings))


def _require(
    topic: str, group: str, info: TopicInfo, groups: dict[int, dict[str, GroupState]]
) -> None:
    if any(group in by_name for by_name in groups.values()):
        return
    if ConsumerGroup.objects.filter(topic=topic, name=group).exists():
        return
    # Not on the selected partitions: it may still be on others.
    client = get_redis()
    for p in info.partition_ids:
        if p not in groups and group in group_states(client, topic, p):
            return
    raise UnknownGroup(
        f"No consumer group '{group}' on topic '{topic}'. List the groups with "
        f"manage.py bus groups --topic {topic}, or create it with "
        f"manage.py bus groups create {topic} {group}."
    )


def apply_reset(plan: ResetPlan) -> ResetPlan:
    """Move the group to the plan's positions; return the plan as applied."""
    if plan.applied:
        raise InvalidReset("This plan was already applied; plan the reset again.")
    info = get_topic(plan.topic)
    client = get_redis()
    done: list[PartitionReset] = []
    warnings = list(plan.warnings)
    with redis_errors(f"reset '{plan.group}' on '{plan.topic}'"):
        groups = {
            part.partition: group_states(client, plan.topic, part.partition)
            for part in plan.partitions
        }
        # A group deleted since the plan must not be brought back by it.
        _require(plan.topic, plan.group, info, groups)
        for part in plan.partitions:
            state = groups[part.partition].get(plan.group)
            now_at = state.last_delivered_id if state else None
            if now_at != part.current_position:
                warnings.append(
                    f"Partition {part.partition} moved from {part.current_position} "
                    f"to {now_at} after the plan; it was set to the planned "
                    f"{part.new_position} anyway."
                )
            written = set_position(
                client,
                plan.topic,
                part.partition,
                plan.group,
                part.new_position,
                create=False,
                clear_pending=True,
            )
            done.append(
                replace(
                    part,
                    entries_read=written.count.entries_read,
                    to_deliver=written.count.after,
                    pending=written.acked,
                )
            )
    return replace(plan, partitions=tuple(done), warnings=tuple(warnings), applied=True)


def reset_group(
    topic: str,
    group: str,
    target: ResetTarget,
    *,
    partitions: list[int] | None = None,
    dry_run: bool = True,
) -> ResetPlan:
    """Plan a reset of ``group`` and, unless ``dry_run``, apply it."""
    plan = plan_reset(topic, group, target, partitions=partitions)
    return plan if dry_run else apply_reset(plan)
