"""`manage.py bus` topics, sync and publish behave like documented."""

from __future__ import annotations

import io

import orjson
import pytest
from django.core.management import CommandError, call_command

from eventbus import declare_topic, register_event_type
from eventbus.keys import stream_key
from eventbus.models import EventSchema, Topic
from eventbus.topics import _declared


@pytest.fixture
def declared(bus):
    saved = dict(_declared.topics)
    _declared.topics.clear()
    declare_topic("orders", partitions=3, owner="checkout")
    register_event_type(
        "order.placed",
        topic="orders",
        schema={"type": "object", "required": ["order_id"]},
        producer="checkout",
    )
    yield
    _declared.topics.clear()
    _declared.topics.update(saved)


def run(*args: str, stdin: str | None = None, monkeypatch=None) -> str:
    out = io.StringIO()
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    call_command("bus", *args, stdout=out)
    return out.getvalue()


def test_sync_creates_topics_and_schemas_then_is_idempotent(declared):
    assert "created topic orders" in run("sync")
    assert Topic.objects.get(name="orders").partitions == 3
    assert EventSchema.objects.filter(type="order.placed", version=1).exists()
    assert "0 topic(s) created" in run("sync")


def test_publish_from_argument_and_stdin_then_topics_counts_them(
    declared, bus, monkeypatch
):
    run("sync")
    line = run("publish", "orders", "order.placed", '{"order_id": "o1"}', "--key", "c1")
    result = orjson.loads(line)
    assert bus.xlen(stream_key("orders", result["position"]["partition"])) == 1

    lines = '{"order_id": "o2"}\n{"order_id": "o3"}\n'
    out = run(
        "publish",
        "orders",
        "order.placed",
        "-",
        "--lines",
        stdin=lines,
        monkeypatch=monkeypatch,
    )
    assert len(out.strip().splitlines()) == 2
    assert "│ orders │ 3          │ 3 " in run("topics")


def test_publish_rejects_bad_json_and_schema_violations_clearly(declared):
    run("sync")
    with pytest.raises(CommandError, match="not valid JSON"):
        run("publish", "orders", "order.placed", "{oops")
    with pytest.raises(CommandError, match="does not match its schema"):
        run("publish", "orders", "order.placed", '{"id": 1}')
