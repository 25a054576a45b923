"""manage.py bus groups / lag / reset, driven through call_command."""

from __future__ import annotations

from io import StringIO

import orjson
import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from eventbus.envelope import FIELD
from eventbus.keys import stream_key

BASE = 1_700_000_000_000
KEY = stream_key("orders", 0)


def bus_cmd(*args: str) -> str:
    out = StringIO()
    call_command("bus", *args, stdout=out)
    return out.getvalue()


def entry_id(i: int) -> str:
    return f"{BASE + i * 1000}-0"


@pytest.fixture
def orders(bus, make_topic) -> redis.Redis:
    """A one-partition topic with e1..e10."""
    make_topic("orders", partitions=1)
    for i in range(1, 11):
        bus.xadd(KEY, {FIELD: b"{}"}, id=entry_id(i))
    return bus


def test_groups_create_list_delete(orders):
    """Groups are created at a start, listed and deleted from the command line."""
    out = bus_cmd("groups", "create", "orders", "inventory", "--start", "earliest")
    assert "Created group 'inventory'" in out and "0:0-0" in out
    out = bus_cmd(
        "groups", "create", "orders", "shipping", "--start", "2023-11-14T22:13:26Z"
    )
    assert "0:" + entry_id(5) in out  # 22:13:26Z is BASE + 6000 ms: e6 is next
    out = bus_cmd("groups", "--topic", "orders")
    assert "inventory" in out and "shipping" in out and "1/1" in out
    rows = orjson.loads(bus_cmd("groups", "--json"))
    assert {r["group"]: r["partitions"][0]["lag"] for r in rows} == {
        "inventory": 10,
        "shipping": 5,
    }
    assert "Deleted group 'inventory'" in bus_cmd(
        "groups", "delete", "orders", "inventory"
    )
    assert [r["group"] for r in orjson.loads(bus_cmd("groups", "--json"))] == [
        "shipping"
    ]


def test_groups_errors_are_shown_as_messages(orders):
    """Bus errors become CommandError with their advice."""
    bus_cmd("groups", "create", "orders", "inventory")
    with pytest.raises(CommandError, match="already exists.*bus reset"):
        bus_cmd("groups", "create", "orders", "inventory")
    with pytest.raises(CommandError, match="not a start position"):
        bus_cmd("groups", "create", "orders", "other", "--start", "soon")


def test_lag_table_and_json(orders):
    """Lag shows each partition's numbers, and unknown as 'unknown', never 0."""
    bus_cmd("groups", "create", "orders", "inventory", "--start", "earliest")
    orders.xreadgroup("inventory", "c1", {KEY: ">"}, count=3)
    out = bus_cmd("lag", "orders")
    assert "inventory" in out and "│ 7 " in out and "│ 3 " in out and "│ 10 " in out
    (row,) = orjson.loads(bus_cmd("lag", "orders", "--group", "inventory", "--json"))
    assert (row["undelivered"], row["pending"], row["backlog"]) == (7, 3, 10)
    orders.delete(KEY)
    out = bus_cmd("lag", "orders", "--group", "inventory")
    assert "unknown" in out and "stream key missing" in out
    (row,) = orjson.loads(bus_cmd("lag", "--json"))
    assert row["backlog"] is None and row["partitions"][0]["undelivered"] is None


def test_lag_group_needs_topic(orders):
    """--group without a topic is refused with an example."""
    with pytest.raises(CommandError, match="bus lag orders --group"):
        bus_cmd("lag", "--group", "inventory")


def test_reset_dry_run_then_execute(orders):
    """Reset prints the plan and changes nothing until --execute."""
    bus_cmd("groups", "create", "orders", "inventory")  # latest: position e10
    out = bus_cmd("reset", "orders", "inventory", "--shift-by", "-3")
    assert entry_id(7) in out and "+3" in out
    assert "dry run: nothing changed, add --execute to apply" in out
    assert orders.xinfo_groups(KEY)[0]["lag"] == 0
    out = bus_cmd("reset", "orders", "inventory", "--to-id", entry_id(4), "--execute")
    assert "applied: 7 event(s)" in out
    assert orders.xinfo_groups(KEY)[0]["lag"] == 7


@pytest.mark.parametrize(
    "args,new_position",
    [
        (["--to-earliest"], "0-0"),
        (["--to-latest"], entry_id(10)),
        (["--to-datetime", "2023-11-14T22:13:26Z"], entry_id(5)),
        (["--by-duration", "5000d"], "0-0"),
        (["--shift-by", "2", "--partitions", "0"], entry_id(2)),
    ],
)
def test_reset_targets_from_the_command_line(orders, args, new_position):
    """Every target option reaches the planner (JSON shows the new position)."""
    bus_cmd("groups", "create", "orders", "inventory", "--start", "earliest")
    (part,) = orjson.loads(bus_cmd("reset", "orders", "inventory", *args, "--json"))[
        "partitions"
    ]
    assert part["new_position"] == new_position


def test_reset_from_group_and_errors(orders):
    """Copying a group works; bad ids, partitions and targets are explained."""
    bus_cmd("groups", "create", "orders", "inventory", "--start", "earliest")
    bus_cmd("groups", "create", "orders", "shipping")
    plan = orjson.loads(
        bus_cmd("reset", "orders", "inventory", "--from-group", "shipping", "--json")
    )
    assert plan["partitions"][0]["new_position"] == entry_id(10)
    with pytest.raises(CommandError, match="no event with id"):
        bus_cmd("reset", "orders", "inventory", "--to-id", "5-0")
    with pytest.raises(CommandError, match="--partitions 0,2"):
        bus_cmd("reset", "orders", "inventory", "--to-earliest", "--partitions", "a")
    with pytest.raises(CommandError, match="not a duration"):
        bus_cmd("reset", "orders", "inventory", "--by-duration", "soon")
