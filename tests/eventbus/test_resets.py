"""Resets on real Redis: every mode, its dry run, and exact lag afterwards.

The stream holds e1..e10 with ids ``BASE + i*1000 - 0``; the group ``g`` has
been delivered and has acknowledged e1..e4 (position e4, backlog 6) unless a
test says otherwise. A position is the last delivered id, so "to e3" means
e3 is delivered next.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from eventbus.envelope import FIELD, Event
from eventbus.exceptions import InvalidReset, PositionNotFound, UnknownGroup
from eventbus.groups import create_group, recorded_positions
from eventbus.keys import stream_key
from eventbus.lag import group_lag
from eventbus.resets import (
    ResetTarget,
    apply_reset,
    parse_duration,
    plan_reset,
    reset_group,
)

BASE = 1_700_000_000_000
KEY = stream_key("orders", 0)


def entry_id(i: int, base: int = BASE) -> str:
    return f"{base + i * 1000}-0"


def fill(client: redis.Redis, topic: str, p: int, count: int, base: int = BASE) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(1, count + 1):
        event = Event(id=f"ev-{i}", source="/t", type="order.placed", time="t", data={})
        pipe.xadd(stream_key(topic, p), {FIELD: event.to_wire()}, id=entry_id(i, base))
    pipe.execute()


def read(client: redis.Redis, group: str, count: int, key: str = KEY) -> list[str]:
    reply = client.xreadgroup(group, "c1", {key: ">"}, count=count)
    return [sid.decode() for _, rows in reply for sid, _ in rows]


def group_row(client: redis.Redis, group: str, key: str = KEY) -> dict:
    return next(r for r in client.xinfo_groups(key) if r["name"].decode() == group)


def brute_after(client: redis.Redis, position: str, key: str = KEY) -> int:
    pos = tuple(map(int, position.split("-")))
    return sum(
        1
        for sid, _ in client.xrange(key)
        if tuple(map(int, sid.decode().split("-"))) > pos
    )


@pytest.fixture
def orders(bus, make_topic) -> redis.Redis:
    make_topic("orders", partitions=1)
    fill(bus, "orders", 0, 10)
    create_group("orders", "g", start="earliest")
    bus.xack(KEY, "g", *read(bus, "g", 4))
    return bus


def check_applied(client: redis.Redis, plan, group: str = "g") -> None:
    """Redis's lag is valid and equals ours and a brute-force count."""
    (part,) = plan.partitions
    row = group_row(client, group)
    assert row["last-delivered-id"].decode() == part.new_position
    assert row["lag"] is not None
    assert row["lag"] == part.to_deliver == brute_after(client, part.new_position)
    assert group_lag("orders", group).backlog == part.to_deliver


# (target, new position, events to deliver, ENTRIESREAD, next event delivered)
CASES = [
    ("earliest", ResetTarget.earliest(), "0-0", 10, 0, 1),
    ("latest", ResetTarget.latest(), entry_id(10), 0, 10, None),
    ("time-on-event", ResetTarget.at_time(BASE + 6000), entry_id(5), 5, 5, 6),
    ("time-between", ResetTarget.at_time(BASE + 6500), entry_id(6), 4, 6, 7),
    (
        "datetime",
        ResetTarget.at_time(datetime.fromtimestamp((BASE + 2000) / 1000, tz=UTC)),
        entry_id(1),
        9,
        1,
        2,
    ),
    ("time-before-all", ResetTarget.at_time(BASE), "0-0", 10, 0, 1),
    ("time-after-all", ResetTarget.at_time(BASE + 99_000), entry_id(10), 0, 10, None),
    ("id", ResetTarget.to_id(entry_id(3)), entry_id(2), 8, 2, 3),
    ("id-first", ResetTarget.to_id(entry_id(1)), "0-0", 10, 0, 1),
    ("shift-back", ResetTarget.shift(-2), entry_id(2), 8, 2, 3),
    ("shift-forward", ResetTarget.shift(3), entry_id(7), 3, 7, 8),
    ("shift-back-clamped", ResetTarget.shift(-100), "0-0", 10, 0, 1),
    ("shift-forward-clamped", ResetTarget.shift(100), entry_id(10), 0, 10, None),
]


@pytest.mark.parametrize(
    "target,new,to_deliver,entries_read,next_event",
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_reset_mode_dry_run_then_apply(
    orders, target, new, to_deliver, entries_read, next_event
):
    """Each mode's dry run predicts exactly what applying it does."""
    plan = reset_group("orders", "g", target)
    (part,) = plan.partitions
    assert not plan.applied
    assert (part.current_position, part.new_position) == (entry_id(4), new)
    assert (part.to_deliver, part.entries_read) == (to_deliver, entries_read)
    assert (part.current_backlog, part.change) == (6, to_deliver - 6)
    # The dry run changed nothing.
    row = group_row(orders, "g")
    assert (row["last-delivered-id"].decode(), row["lag"]) == (entry_id(4), 6)

    applied = apply_reset(plan)
    assert applied.applied and applied.partitions == plan.partitions
    check_applied(orders, applied)
    assert recorded_positions("orders", 0) == {"g": new}
    expected = [] if next_event is None else [entry_id(next_event)]
    assert read(orders, "g", 1) == expected


def test_reset_by_duration_uses_redis_clock(bus, make_topic):
    """By duration: the first event at or after (Redis now - duration) is next."""
    make_topic("orders", partitions=1)
    seconds, _ = bus.time()
    now = seconds * 1000
    # e_i is (11 - i) minutes old on Redis's clock: e1 10 min ... e10 1 min.
    ids = [f"{now - (11 - i) * 60_000}-0" for i in range(1, 11)]
    for sid in ids:
        bus.xadd(KEY, {FIELD: b"{}"}, id=sid)
    create_group("orders", "g", start="latest")
    plan = reset_group("orders", "g", ResetTarget.ago("5m30s"))
    (part,) = plan.partitions
    assert (part.new_position, part.to_deliver) == (ids[4], 5)  # e6 is next
    apply_reset(plan)
    assert read(bus, "g", 1) == [ids[5]]


def test_reset_to_missing_id_says_where_the_partition_is(orders):
    """An id that is not in the partition raises PositionNotFound with its range."""
    with pytest.raises(PositionNotFound) as info:
        plan_reset("orders", "g", ResetTarget.to_id(f"{BASE + 3500}-0"))
    message = str(info.value)
    assert entry_id(1) in message and entry_id(10) in message and "10 event" in message
    assert group_row(orders, "g")["last-delivered-id"].decode() == entry_id(4)


def test_reset_to_id_needs_one_partition(bus, make_topic):
    """An event id belongs to one partition; several selected is refused."""
    make_topic("orders", partitions=2)
    fill(bus, "orders", 1, 3)
    create_group("orders", "g", start="earliest")
    with pytest.raises(InvalidReset, match="--partitions 0"):
        plan_reset("orders", "g", ResetTarget.to_id(entry_id(2)))
    plan = plan_reset("orders", "g", ResetTarget.to_id(entry_id(2)), partitions=[1])
    assert [(p.partition, p.to_deliver) for p in plan.partitions] == [(1, 2)]


def test_copy_position_from_another_group(orders):
    """From-group copies the other group's position on each partition."""
    create_group("orders", "h", start="earliest")
    read(orders, "h", 7)  # h: position e7, 7 pending
    plan = reset_group("orders", "g", ResetTarget.from_group("h"), dry_run=False)
    (part,) = plan.partitions
    assert (part.new_position, part.to_deliver) == (entry_id(7), 3)
    check_applied(orders, plan)
    with pytest.raises(UnknownGroup, match="nobody"):
        plan_reset("orders", "g", ResetTarget.from_group("nobody"))


def test_reset_clears_pending_entries_and_warns(orders):
    """Applying acknowledges pending entries; the plan warns about them first."""
    read(orders, "g", 2)  # e5, e6 pending for consumer c1
    plan = plan_reset("orders", "g", ResetTarget.shift(-1))
    (part,) = plan.partitions
    assert (part.current_position, part.new_position) == (entry_id(6), entry_id(5))
    assert (part.pending, part.current_backlog, part.to_deliver) == (2, 6, 5)
    assert any("2 pending" in w for w in plan.warnings)
    assert any("looks active" in w for w in plan.warnings)
    assert orders.xpending(KEY, "g")["pending"] == 2  # dry run
    applied = apply_reset(plan)
    assert applied.partitions[0].pending == 2
    assert orders.xpending(KEY, "g")["pending"] == 0
    check_applied(orders, applied)
    assert read(orders, "g", 1) == [entry_id(6)]


def test_unknown_group_cannot_be_reset(orders):
    """Resetting a group that does not exist raises UnknownGroup."""
    with pytest.raises(UnknownGroup, match="groups create orders nobody"):
        plan_reset("orders", "nobody", ResetTarget.earliest())


def test_reset_some_partitions_leaves_the_others(bus, make_topic):
    """Only the named partitions move."""
    make_topic("orders", partitions=3)
    for p in range(3):
        fill(bus, "orders", p, 5)
    create_group("orders", "g")  # latest
    plan = reset_group(
        "orders", "g", ResetTarget.earliest(), partitions=[0, 2], dry_run=False
    )
    assert [(p.partition, p.to_deliver) for p in plan.partitions] == [(0, 5), (2, 5)]
    lag = group_lag("orders", "g")
    assert [p.backlog for p in lag.partitions] == [5, 0, 5]
    with pytest.raises(InvalidReset, match="0..2"):
        plan_reset("orders", "g", ResetTarget.earliest(), partitions=[3])


def test_apply_recounts_when_the_stream_was_trimmed_after_the_plan(orders):
    """A trim between plan and apply is counted again, so Redis's lag stays exact."""
    plan = plan_reset("orders", "g", ResetTarget.earliest())
    assert plan.partitions[0].to_deliver == 10
    orders.xtrim(KEY, maxlen=5, approximate=False)
    applied = apply_reset(plan)
    (part,) = applied.partitions
    assert (part.to_deliver, part.entries_read) == (5, 5)
    check_applied(orders, applied)


def test_lag_stays_exact_after_reset_and_trim(orders):
    """Lag after a reset and a trim past the new position is what is left."""
    reset_group("orders", "g", ResetTarget.to_id(entry_id(3)), dry_run=False)
    orders.xtrim(KEY, maxlen=5, approximate=False)
    assert group_lag("orders", "g").undelivered == 5 == brute_after(orders, entry_id(2))
    orders.xadd(KEY, {FIELD: b"{}"})
    assert group_lag("orders", "g").undelivered == 6


def test_reset_in_a_long_stream_sets_exact_entries_read(bus, make_topic):
    """Positions deep inside a multi-page stream get an exact ENTRIESREAD."""
    make_topic("orders", partitions=1)
    fill(bus, "orders", 0, 2600)
    create_group("orders", "g", start="earliest")
    for target, after in (
        (ResetTarget.to_id(entry_id(901)), 1700),
        (ResetTarget.shift(1500), 200),
        (ResetTarget.shift(-1999), 2199),
    ):
        plan = reset_group("orders", "g", target, dry_run=False)
        assert plan.partitions[0].to_deliver == after
        row = group_row(bus, "g")
        assert (
            row["lag"] == after == brute_after(bus, row["last-delivered-id"].decode())
        )


def test_reset_creates_the_group_where_it_is_missing(bus, make_topic):
    """A partition the group lost gets it back at the new position."""
    make_topic("orders", partitions=2)
    fill(bus, "orders", 0, 3)
    fill(bus, "orders", 1, 4)
    create_group("orders", "g")
    bus.xgroup_destroy(stream_key("orders", 1), "g")
    plan = plan_reset("orders", "g", ResetTarget.earliest())
    assert plan.partitions[1].current_position is None
    assert (
        plan.partitions[1].current_backlog is None and plan.partitions[1].change is None
    )
    assert any("missing on partition(s) 1" in w for w in plan.warnings)
    apply_reset(plan)
    assert [p.backlog for p in group_lag("orders", "g").partitions] == [3, 4]


def test_a_plan_applies_once(orders):
    """An applied plan cannot be applied again."""
    plan = reset_group("orders", "g", ResetTarget.latest(), dry_run=False)
    with pytest.raises(InvalidReset, match="already applied"):
        apply_reset(plan)


@pytest.mark.parametrize(
    "text,ms",
    [
        ("15m", 900_000),
        ("2h", 7_200_000),
        ("1d", 86_400_000),
        ("1h30m", 5_400_000),
        ("500ms", 500),
        ("PT15M", 900_000),
        ("P1DT2H", 93_600_000),
        ("pt1.5s", 1500),
        (timedelta(seconds=90), 90_000),
    ],
)
def test_durations(text, ms):
    """Durations are a number and a unit, combinable."""
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["15", "15x", "m", "0m", "-5m", "1h 30", "PT", "P1H"])
def test_bad_durations(text):
    """A malformed or non-positive duration is refused with an example."""
    with pytest.raises(InvalidReset, match="15m"):
        parse_duration(text)


def test_bad_targets():
    """Malformed ids and zero shifts are refused."""
    with pytest.raises(InvalidReset, match="<ms>-<seq>"):
        ResetTarget.to_id("abc")
    with pytest.raises(InvalidReset):
        ResetTarget.shift(0)


def test_a_trim_between_count_and_write_is_counted_again(orders, monkeypatch):
    """A trim past the new position racing the write makes it count again."""
    from eventbus import _positions

    real, calls = _positions.count_after, []

    def count_then_trim(*args):
        calls.append(real(*args))
        if len(calls) == 1:  # a retention job trims right after the count
            orders.xtrim(KEY, maxlen=3, approximate=False)
        return calls[-1]

    monkeypatch.setattr(_positions, "count_after", count_then_trim)
    plan = reset_group("orders", "g", ResetTarget.to_id(entry_id(3)), dry_run=False)
    assert len(calls) == 2
    assert plan.partitions[0].to_deliver == 3
    check_applied(orders, plan)


def test_a_trim_before_the_new_position_needs_no_recount(orders, monkeypatch):
    """Entries removed at or before the new position do not change ENTRIESREAD."""
    from eventbus import _positions

    real, calls = _positions.count_after, []

    def count_then_trim(*args):
        calls.append(real(*args))
        orders.xtrim(KEY, maxlen=8, approximate=False)  # drops e1, e2
        return calls[-1]

    monkeypatch.setattr(_positions, "count_after", count_then_trim)
    plan = reset_group("orders", "g", ResetTarget.to_id(entry_id(6)), dry_run=False)
    assert len(calls) == 1
    check_applied(orders, plan)


def test_a_plan_does_not_resurrect_a_deleted_group(orders):
    """Applying a plan of a group deleted since then raises and creates nothing."""
    from eventbus.groups import delete_group

    plan = plan_reset("orders", "g", ResetTarget.earliest())
    delete_group("orders", "g")
    with pytest.raises(UnknownGroup):
        apply_reset(plan)
    assert orders.xinfo_groups(KEY) == []


def test_targets_describe_themselves():
    """Targets read back in the units an operator typed."""
    assert ResetTarget.ago("PT90M").describe() == "to 1h30m ago"
    assert ResetTarget.at_time(BASE).describe() == "to time 2023-11-14T22:13:20Z"
    assert ResetTarget.shift(-3).describe() == "shift by -3"
