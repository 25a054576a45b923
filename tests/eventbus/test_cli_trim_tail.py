"""`manage.py bus trim` and `manage.py bus tail` behave like documented."""

from __future__ import annotations

import io
import threading
import time

import orjson
import pytest
from django.core.management import CommandError, call_command

from eventbus import publish, register_event_type
from eventbus.keys import stream_key
from eventbus.topics import get_topic


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("bus", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def desk(make_topic, bus):
    """A 2-partition topic with 10 events on partition 0 and a group behind."""
    make_topic("desk", partitions=2, retention_max_len=4)
    for name in ("desk.ticket_opened", "desk.ticket_closed"):
        register_event_type(name, topic="desk", schema={"type": "object"})
    key = stream_key("desk", 0)
    for n in range(1, 11):
        bus.xadd(key, {b"e": orjson.dumps(_event(n))}, id=f"{n}-0")
    bus.xgroup_create(key, "support", id="0")
    bus.xreadgroup("support", "c1", {key: ">"}, count=3)
    bus.xack(key, "support", "1-0", "2-0", "3-0")
    return bus


def _event(n: int) -> dict:
    return {
        "id": f"ev-{n}",
        "source": "/tests",
        "specversion": "1.0",
        "type": "desk.ticket_opened" if n % 2 else "desk.ticket_closed",
        "time": "2024-01-01T00:00:00Z",
        "subject": f"t{n}",
        "data": {"n": n},
    }


def test_trim_dry_run_shows_the_blocking_group_and_changes_nothing(desk):
    """The table shows what would go, what is held back and by which group."""
    out = run("trim", "desk", "--dry-run")
    assert "would remove" in out
    assert "support (3)" in out
    assert "blocked by group(s) support" in out
    assert desk.xlen(stream_key("desk", 0)) == 10


def test_trim_applies_and_reports_json(desk):
    """--json lists per partition what was removed and held back."""
    [report] = orjson.loads(run("trim", "desk", "--json"))
    part = report["partitions"][0]
    assert (part["removed"], part["held_back"], part["cut"]) == (3, 3, "4-0")
    assert part["held_by"] == [{"group": "support", "events": 3, "slowest": True}]
    assert desk.xlen(stream_key("desk", 0)) == 7


def test_trim_without_a_topic_trims_every_topic(make_topic, desk):
    """Without a topic every topic is trimmed, many of them with a progress bar."""
    for n in range(6):
        make_topic(f"extra{n}", partitions=1, retention_max_len=1)
    out = run("trim")
    assert "extra5" in out and "desk" in out
    assert desk.xlen(stream_key("desk", 0)) == 7


def test_trim_of_unknown_topic_says_what_to_do(bus):
    """An unknown topic is an error that names the problem."""
    with pytest.raises(CommandError, match="No such topic"):
        run("trim", "nope")


def test_tail_from_earliest_prints_json_lines_with_positions(desk):
    """Each line is a structured CloudEvent plus its position; --limit stops it."""
    lines = run("tail", "desk", "--from", "earliest", "--limit", "3").splitlines()
    events = [orjson.loads(line) for line in lines]
    assert [e["id"] for e in events] == ["ev-1", "ev-2", "ev-3"]
    assert events[0]["position"] == {"topic": "desk", "partition": 0, "id": "1-0"}
    assert events[0]["data"] == {"n": 1}


def test_tail_filters_and_stops_after_the_idle_timeout(desk):
    """--type/--subject filter; --timeout ends the tail once nothing arrives."""
    started = time.monotonic()
    out = run(
        "tail",
        "desk",
        "--from",
        "earliest",
        "--type",
        "desk.*_closed",
        "--subject",
        "t4",
        "--timeout",
        "0.3",
    )
    assert [orjson.loads(line)["id"] for line in out.splitlines()] == ["ev-4"]
    assert time.monotonic() - started < 5


def test_tail_from_latest_skips_history_and_prints_new_events(desk):
    """From latest (the default) only events published after the start appear."""
    assert run("tail", "desk", "--timeout", "0.2") == ""
    get_topic("desk")  # cached, so the publishing thread needs no database
    timer = threading.Timer(
        0.3,
        publish,
        args=("desk", "desk.ticket_opened", {"n": 11}),
        kwargs={"key": "k"},
    )
    timer.start()
    out = run("tail", "desk", "--limit", "1", "--timeout", "5")
    timer.join()
    [line] = out.splitlines()
    assert orjson.loads(line)["data"] == {"n": 11}


def test_tail_from_an_iso_time_replays_from_there(desk):
    """--from accepts ISO times; stream ids carry ms since the epoch."""
    out = run("tail", "desk", "--from", "1970-01-01T00:00:00.005Z", "--limit", "6")
    ids = [orjson.loads(line)["position"]["id"] for line in out.splitlines()]
    assert ids == ["5-0", "6-0", "7-0", "8-0", "9-0", "10-0"]


def test_tail_rejects_a_start_it_cannot_read(desk):
    """A --from that is no keyword, time or id is refused with the forms it takes."""
    with pytest.raises(CommandError, match="--from 'soon' is not understood"):
        run("tail", "desk", "--from", "soon")
