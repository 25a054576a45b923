"""Retention trims by age/length and never drops unprocessed events under block-trim."""

from __future__ import annotations

import logging

import pytest
import redis

from eventbus.envelope import FIELD, Event, new_event_id, now_rfc3339
from eventbus.keys import positions_key, stream_key
from eventbus.retention import apply_plan, plan_trim, trim, trim_all
from eventbus.streams import server_ms
from eventbus.topics import TopicInfo

TOPIC = "ledger"


def add(bus: redis.Redis, ids: list[str], partition: int = 0) -> None:
    """Append envelopes with the given stream ids (ids fix the ages exactly)."""
    for sid in ids:
        event = Event(
            id=new_event_id(),
            source="/tests",
            type="ledger.entry_posted",
            time=now_rfc3339(),
            data={"n": sid},
        )
        bus.xadd(stream_key(TOPIC, partition), {FIELD: event.to_wire()}, id=sid)


def ids(bus: redis.Redis, partition: int = 0) -> list[str]:
    return [sid.decode() for sid, _ in bus.xrange(stream_key(TOPIC, partition))]


def consume(
    bus: redis.Redis, group: str, count: int, ack: list[str], partition: int = 0
) -> None:
    """Deliver ``count`` new entries to ``group`` and acknowledge ``ack``."""
    key = stream_key(TOPIC, partition)
    bus.xreadgroup(group, "c1", {key: ">"}, count=count)
    if ack:
        bus.xack(key, group, *ack)


def group(bus: redis.Redis, name: str, at: str = "0", partition: int = 0) -> None:
    bus.xgroup_create(stream_key(TOPIC, partition), name, id=at)


ONE_TO_TEN = [f"{n}-0" for n in range(1, 11)]


def test_block_trim_keeps_pending_and_undelivered_events_of_a_group(make_topic, bus):
    """A group behind (pending 3-5, undelivered 6+) keeps everything from 3-0."""
    make_topic(TOPIC, partitions=1, retention_max_len=3)
    add(bus, ONE_TO_TEN)
    group(bus, "billing")
    consume(bus, "billing", 5, ack=["1-0", "2-0"])

    report = trim(TOPIC)

    part = report.plan.partitions[0]
    assert (part.wanted_cut, part.safe_cut, part.cut) == ("8-0", "3-0", "3-0")
    assert (part.wanted, part.removes, part.held_back) == (7, 2, 5)
    assert part.blocking_groups == ["billing"]
    assert [(i.group, i.events) for i in part.held_by] == [("billing", 5)]
    assert report.removed_by_partition == {0: 2}
    assert ids(bus) == ONE_TO_TEN[2:]


def test_the_slowest_group_sets_the_cut_and_every_blocker_is_counted(make_topic, bus):
    """With three groups the lowest needed entry wins; each group's share is exact."""
    make_topic(TOPIC, partitions=1, retention_max_len=3)
    add(bus, ONE_TO_TEN)
    group(bus, "fast")
    consume(bus, "fast", 6, ack=ONE_TO_TEN[:6])  # needs 7-0
    group(bus, "slow")
    consume(bus, "slow", 4, ack=ONE_TO_TEN[:4])  # needs 5-0
    group(bus, "stuck")
    consume(bus, "stuck", 8, ack=[i for i in ONE_TO_TEN[:8] if i != "2-0"])  # 2-0

    plan = plan_trim(TOPIC).partitions[0]

    assert (plan.cut, plan.removes, plan.held_back) == ("2-0", 1, 6)
    assert plan.blocking_groups == ["stuck"]
    # In [2-0, 8-0): stuck has 2-0 pending; slow has 5..7 undelivered; fast 7.
    assert [(i.group, i.events, i.slowest) for i in plan.held_by] == [
        ("stuck", 1, True),
        ("slow", 3, False),
        ("fast", 1, False),
    ]

    bus.xack(stream_key(TOPIC, 0), "stuck", "2-0")
    report = trim(TOPIC)
    assert report.plan.partitions[0].blocking_groups == ["slow"]
    assert report.removed_by_partition == {0: 4}
    assert ids(bus) == ONE_TO_TEN[4:]


def test_block_trim_by_age_stops_at_the_group_and_logs_it(make_topic, bus, caplog):
    """Old events a group has not read stay; the warning names the group."""
    now = server_ms(bus)
    make_topic(TOPIC, partitions=1, retention_ms=60_000)
    old = [f"{now - 3_600_000 + n}-0" for n in range(6)]
    add(bus, old)
    bus.xadd(stream_key(TOPIC, 0), {FIELD: b"{}"})  # a fresh one, inside retention
    group(bus, "audit")
    consume(bus, "audit", 2, ack=old[:2])

    with caplog.at_level(logging.WARNING, logger="eventbus.retention"):
        report = trim(TOPIC)

    part = report.plan.partitions[0]
    assert (part.wanted, part.removes, part.held_back) == (6, 2, 4)
    assert report.removed_by_partition == {0: 2}
    assert ids(bus)[:4] == old[2:]
    assert len(ids(bus)) == 5
    assert "blocked by group 'audit'" in caplog.text


def test_age_and_length_together_take_the_later_cut(make_topic, bus):
    """The policy wants the later of the age cut and the length cut."""
    make_topic(TOPIC, partitions=1)
    add(bus, ONE_TO_TEN)

    def wanted(now_ms: int, **retention: int) -> str | None:
        info = TopicInfo(TOPIC, 1, **retention)
        return plan_trim(info, now_ms=now_ms).partitions[0].wanted_cut

    assert wanted(1004, retention_ms=1000, retention_max_len=3) == "8-0"  # length
    assert wanted(1009, retention_ms=1000, retention_max_len=8) == "9-0"  # age
    assert wanted(1009, retention_ms=1000) == "9-0"
    assert wanted(1009, retention_max_len=8) == "3-0"
    assert wanted(1000, retention_ms=1000, retention_max_len=10) is None
    # Age beyond every entry: the cut is just past the last entry.
    assert wanted(999_999, retention_ms=1000) == "10-1"


def test_groups_at_zero_or_before_the_first_entry_keep_everything(make_topic, bus):
    """A group that has read nothing (0-0, or before a trimmed head) blocks all."""
    make_topic(TOPIC, partitions=1, retention_max_len=2)
    add(bus, ONE_TO_TEN)
    bus.xtrim(stream_key(TOPIC, 0), minid="5-0", approximate=False)
    group(bus, "new")  # last-delivered 0-0, before the first entry 5-0

    report = trim(TOPIC)

    part = report.plan.partitions[0]
    assert (part.cut, part.removes, part.held_back) == ("5-0", 0, 4)
    assert part.blocking_groups == ["new"]
    assert report.removed_by_partition == {}
    assert ids(bus) == ONE_TO_TEN[4:]


def test_pending_entries_already_trimmed_do_not_block_forever(make_topic, bus):
    """PEL ids below the first entry are ignored; the first needed one counts."""
    make_topic(TOPIC, partitions=1, retention_max_len=3)
    add(bus, ONE_TO_TEN)
    group(bus, "lagging")
    consume(bus, "lagging", 6, ack=["4-0", "5-0", "6-0"])  # 1-3 stay pending
    bus.xtrim(stream_key(TOPIC, 0), minid="4-0", approximate=False)

    report = trim(TOPIC)

    assert report.plan.partitions[0].cut == "7-0"
    assert report.removed_by_partition == {0: 3}
    assert ids(bus) == ONE_TO_TEN[6:]


def test_a_group_lost_with_its_key_still_holds_retention(make_topic, bus):
    """A group absent from the stream but with a recorded position is protected."""
    make_topic(TOPIC, partitions=1, retention_max_len=2)
    add(bus, ONE_TO_TEN)
    bus.hset(positions_key(TOPIC, 0), "shipping", "3-0")  # re-created there later

    report = trim(TOPIC)

    part = report.plan.partitions[0]
    assert (part.cut, part.removes, part.held_back) == ("4-0", 3, 5)
    assert [(i.group, i.events, i.slowest) for i in part.held_by] == [
        ("shipping", 5, True)
    ]
    assert ids(bus) == ONE_TO_TEN[3:]


def test_a_stale_plan_spares_a_group_recorded_since(make_topic, bus):
    """The atomic re-check also reads recorded positions of lost groups."""
    make_topic(TOPIC, partitions=1, retention_max_len=2)
    add(bus, ONE_TO_TEN)
    plan = plan_trim(TOPIC)
    bus.hset(positions_key(TOPIC, 0), "shipping", "5-0")

    assert apply_plan(plan).removed == 5
    assert ids(bus) == ONE_TO_TEN[5:]


def test_drop_oldest_trims_regardless_and_counts_unprocessed_exactly(make_topic, bus):
    """Every unprocessed event dropped is counted once, and per group."""
    make_topic(TOPIC, partitions=1, retention_max_len=3, overflow_policy="drop-oldest")
    add(bus, ONE_TO_TEN)
    group(bus, "g")
    consume(bus, "g", 4, ack=["1-0", "2-0"])  # 3,4 pending; 5,6,7 undelivered
    group(bus, "h")
    consume(bus, "h", 6, ack=ONE_TO_TEN[:6])  # 7 undelivered
    group(bus, "k")
    consume(bus, "k", 7, ack=ONE_TO_TEN[1:7])  # 1 pending

    report = trim(TOPIC)

    part = report.plan.partitions[0]
    assert (part.cut, part.removes, part.held_back) == ("8-0", 7, 0)
    assert part.dropped_unprocessed == 6  # {1, 3, 4, 5, 6, 7}
    assert [(i.group, i.events) for i in part.dropped_by] == [
        ("g", 5),
        ("h", 1),
        ("k", 1),
    ]
    assert report.removed_by_partition == {0: 7}
    assert ids(bus) == ONE_TO_TEN[7:]


def test_without_groups_the_policy_trims_every_partition(make_topic, bus):
    """Nothing protects events when no group reads the topic."""
    make_topic(TOPIC, partitions=2, retention_max_len=4)
    add(bus, ONE_TO_TEN, partition=0)
    add(bus, ONE_TO_TEN[:3], partition=1)

    report = trim(TOPIC)

    assert report.removed_by_partition == {0: 6}
    assert ids(bus, 0) == ONE_TO_TEN[6:]
    assert ids(bus, 1) == ONE_TO_TEN[:3]


def test_dry_run_changes_nothing(make_topic, bus):
    """A dry run reports what would go and leaves the stream as it was."""
    make_topic(TOPIC, partitions=1, retention_max_len=4, overflow_policy="drop-oldest")
    add(bus, ONE_TO_TEN)
    group(bus, "g")

    report = trim(TOPIC, dry_run=True)

    assert report.plan.removes == 6
    assert report.plan.dropped_unprocessed == 6
    assert report.removed_by_partition == {}
    assert ids(bus) == ONE_TO_TEN
    assert bus.xinfo_groups(stream_key(TOPIC, 0))[0]["pending"] == 0


def test_a_stale_plan_keeps_events_appended_since(make_topic, bus):
    """Entries added after planning survive: the cut is an id, not a length."""
    now = server_ms(bus)
    make_topic(TOPIC, partitions=1, retention_ms=60_000)
    add(bus, [f"{now - 120_000 + n}-0" for n in range(5)])
    plan = plan_trim(TOPIC)
    fresh = [bus.xadd(stream_key(TOPIC, 0), {FIELD: b"{}"}).decode() for _ in range(3)]

    report = apply_plan(plan)

    assert report.removed_by_partition == {0: 5}
    assert ids(bus) == fresh


def test_a_stale_plan_spares_a_group_reset_since(make_topic, bus):
    """Under block-trim the cut is re-checked atomically against the groups."""
    make_topic(TOPIC, partitions=1, retention_max_len=2)
    add(bus, ONE_TO_TEN)
    group(bus, "replayer")
    consume(bus, "replayer", 10, ack=ONE_TO_TEN)
    plan = plan_trim(TOPIC)
    assert plan.partitions[0].cut == "9-0"
    bus.xgroup_setid(stream_key(TOPIC, 0), "replayer", "4-0")  # replay from 5-0
    group(bus, "late", at="2-0")  # and a new group that starts at 3-0

    report = apply_plan(plan)

    assert report.removed_by_partition == {0: 2}
    assert ids(bus) == ONE_TO_TEN[2:]


def test_trim_all_trims_every_topic_and_skips_a_broken_one(make_topic, bus, caplog):
    """One topic whose key is not a stream is logged; the others are trimmed."""
    make_topic(TOPIC, partitions=1, retention_max_len=1)
    make_topic("broken", partitions=1, retention_max_len=1)
    make_topic("unbounded", partitions=1)
    add(bus, ONE_TO_TEN)
    bus.set(stream_key("broken", 0), "not a stream")

    with caplog.at_level(logging.ERROR, logger="eventbus.retention"):
        reports = trim_all()

    assert {r.topic: r.removed for r in reports} == {TOPIC: 9, "unbounded": 0}
    assert "Could not trim topic 'broken'" in caplog.text
    assert ids(bus) == ["10-0"]


@pytest.mark.parametrize("policy", ["block-trim", "drop-oldest"])
def test_empty_and_missing_partitions_plan_nothing(make_topic, bus, policy):
    """A partition without a stream or without entries has nothing to trim."""
    make_topic(TOPIC, partitions=2, retention_max_len=1, overflow_policy=policy)
    bus.xgroup_create(stream_key(TOPIC, 1), "g", id="$", mkstream=True)

    plan = plan_trim(TOPIC)

    assert [(p.length, p.cut, p.removes) for p in plan.partitions] == [
        (0, None, 0),
        (0, None, 0),
    ]
