"""manage.py bus dlq list / show / redrive / purge / counts, through call_command."""

from __future__ import annotations

from collections.abc import Callable
from io import StringIO
from typing import Any

import orjson
import pytest
import redis
from django.core.management import call_command
from django.core.management.base import CommandError

from eventbus import register_event_type
from eventbus.deadletters import DeadLetter, add_dead_letter
from eventbus.keys import dead_letter_key, redrive_key
from tests.eventbus.test_deadletters import charge, fail, fill, ids_in, place

DLQ = dead_letter_key("orders", "inventory")
REDRIVE = redrive_key("orders", "inventory")


def bus_cmd(*args: str) -> str:
    out = StringIO()
    call_command("bus", "dlq", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def orders(bus: redis.Redis, make_topic: Callable[..., Any]) -> redis.Redis:
    """A two-partition topic with four dead letters for 'inventory'."""
    make_topic("orders", partitions=2)
    for name in ("order.placed", "order.cancelled"):
        register_event_type(name, topic="orders", schema={"type": "object"})
    fill(bus, 4)  # o0, o2: ValueError; o1, o3: PaymentDeclined
    return bus


def test_list_shows_a_table_newest_first(orders):
    """The table shows id, type, error type, message, attempts, origin, time."""
    out = bus_cmd("list", "orders", "inventory")
    stored = ids_in(orders, DLQ)
    assert out.index(stored[3]) < out.index(stored[0])
    assert "order.placed" in out and "PaymentDeclined" in out
    assert "no stock for sku sku-2" in out and "ValueError" in out
    assert "More:" not in out


def test_list_filters_pages_and_prints_json(orders):
    """Filters narrow the list; --limit pages with a cursor; --json has the event."""
    body = orjson.loads(bus_cmd("list", "orders", "inventory", "--json"))
    assert [x["event"]["data"]["order_id"] for x in body["items"]] == [
        "o3",
        "o2",
        "o1",
        "o0",
    ]
    assert body["next"] is None and body["items"][0]["attempts"] == 3
    only = orjson.loads(
        bus_cmd("list", "orders", "inventory", "--error-type", "ValueError", "--json")
    )
    assert [x["event"]["data"]["order_id"] for x in only["items"]] == ["o2", "o0"]
    text = orjson.loads(
        bus_cmd("list", "orders", "inventory", "--text", "ORDER O1", "--json")
    )
    assert [x["error_message"] for x in text["items"]] == ["card declined for order o1"]
    first = bus_cmd("list", "orders", "inventory", "--limit", "3", "--oldest-first")
    cursor = first.split("--cursor ")[1].split()[0]
    rest = orjson.loads(
        bus_cmd(
            "list", "orders", "inventory", "--oldest-first", "--cursor", cursor,
            "--json",
        )
    )  # fmt: skip
    assert [x["dlq_id"] for x in rest["items"]] == ids_in(orders, DLQ)[3:]


def test_list_prints_messages_literally_and_says_when_empty(orders):
    """Error text is data, not rich markup; an empty DLQ says so."""
    (letter,) = fill(orders, 1)
    marked = DeadLetter(**{**letter.__dict__, "error_message": "[bold]x[/bold] [1]"})
    add_dead_letter(orders, marked)
    assert "[bold]x[/bold] [1]" in bus_cmd("list", "orders", "inventory")
    assert "No dead letters" in bus_cmd("list", "orders", "shipping")
    out = bus_cmd("list", "orders", "inventory", "--type", "stock.*")
    assert "No dead letters" in out and "match" in out


def test_show_prints_the_event_and_the_traceback(orders):
    """show prints metadata, the envelope as JSON and the full traceback."""
    dlq_id = ids_in(orders, DLQ)[1]
    out = bus_cmd("show", "orders", "inventory", dlq_id)
    assert f"Dead letter {dlq_id}" in out
    assert '"order_id": "o1"' in out and '"type": "order.placed"' in out
    assert "Traceback (most recent call last):" in out and "in charge" in out
    row = orjson.loads(bus_cmd("show", "orders", "inventory", dlq_id, "--json"))
    assert row["event"]["data"] == {"order_id": "o1", "sku": "sku-1"}
    assert row["error_type"].endswith("PaymentDeclined") and row["wire"] is None


def test_show_of_a_missing_letter_says_how_to_list_them(orders):
    """A missing id is a CommandError that names the list command."""
    with pytest.raises(CommandError, match="bus dlq list orders inventory"):
        bus_cmd("show", "orders", "inventory", "1-0")


def test_redrive_by_id_filter_and_all(orders):
    """Redrive moves the named letters to the group's redrive stream only."""
    stored = ids_in(orders, DLQ)
    out = bus_cmd("redrive", "orders", "inventory", "--id", stored[0], "--id", "1-0")
    assert "Redrove 1 dead letter(s)" in out
    assert "1 of the given id(s) are not in the dead-letter stream" in out
    out = bus_cmd("redrive", "orders", "inventory", "--error-type", "Payment*")
    assert "Redrove 2 dead letter(s)" in out
    assert "Would redrive 1" in bus_cmd(
        "redrive", "orders", "inventory", "--all", "--dry-run"
    )
    assert orders.xlen(DLQ) == 1
    assert "Redrove 1 dead letter(s)" in bus_cmd(
        "redrive", "orders", "inventory", "--all"
    )
    assert orders.xlen(DLQ) == 0 and orders.xlen(REDRIVE) == 4
    assert orders.exists(redrive_key("orders", "shipping")) == 0


def test_redrive_without_or_with_two_selections_is_refused(orders):
    """Exactly one of --id, filters or --all must be given."""
    with pytest.raises(CommandError, match="exactly one way"):
        bus_cmd("redrive", "orders", "inventory")
    with pytest.raises(CommandError, match="exactly one way"):
        bus_cmd("purge", "orders", "inventory", "--all", "--type", "order.*", "--yes")
    assert orders.xlen(DLQ) == 4


def test_purge_asks_for_yes_before_deleting(orders):
    """Without --yes purge only counts; with it the letters are gone."""
    out = bus_cmd("purge", "orders", "inventory", "--error-type", "ValueError")
    assert "Would purge 2 dead letter(s)" in out and "--yes" in out
    assert orders.xlen(DLQ) == 4
    out = bus_cmd("purge", "orders", "inventory", "--error-type", "ValueError", "--yes")
    assert "Purged 2 dead letter(s)" in out
    stored = ids_in(orders, DLQ)
    assert "Purged 1" in bus_cmd(
        "purge", "orders", "inventory", "--id", stored[0], "--yes"
    )
    assert "Purged 1" in bus_cmd("purge", "orders", "inventory", "--all", "--yes")
    assert orders.xlen(DLQ) == 0 and orders.exists(REDRIVE) == 0


def test_counts_per_topic_and_group(orders):
    """counts lists every dead-letter stream with its size."""
    fail(orders, place(9), charge, group="shipping")
    out = bus_cmd("counts")
    assert "inventory" in out and "shipping" in out and "│ 4 " in out
    rows = orjson.loads(bus_cmd("counts", "--group", "shipping", "--json"))
    assert rows == [{"topic": "orders", "group": "shipping", "count": 1}]
