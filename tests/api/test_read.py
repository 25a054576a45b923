"""Reading over HTTP: ranges by time or position, filters, cursor paging; catalog."""

from __future__ import annotations

from datetime import UTC, datetime

from eventbus import publish, register_event_type
from tests.api.conftest import assert_problem, place

EVENTS = "/api/v1/topics/gadgets/events"
ALL = "publish,subscribe,manage:*"


def sid(published) -> tuple[int, int]:
    ms, seq = published.position.stream_id.split("-")
    return int(ms), int(seq)


def in_log_order(published: list) -> list[str]:
    """Return event ids as a merged read orders them: stream id, then partition."""
    ordered = sorted(published, key=lambda p: (*sid(p), p.position.partition))
    return [p.event_id for p in ordered]


def read_all(api, params: dict) -> list[dict]:
    """Follow next_cursor from the first page to the last."""
    events: list[dict] = []
    cursor = None
    while True:
        page = api.get(EVENTS, {**params, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.content
        body = page.json()
        events.extend(body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            return events


def test_paging_with_the_cursor_returns_every_event_once_in_order(topics, api_as):
    """Pages of 3 over 10 events on 4 partitions: all of them, time-ordered."""
    published = [place(n) for n in range(10)]
    events = read_all(api_as("subscribe:gadgets"), {"limit": 3})
    assert [e["id"] for e in events] == in_log_order(published)
    first = next(p for p in published if p.event_id == events[0]["id"])
    assert events[0]["position"] == first.position.as_dict()
    assert events[0]["data"]["amount"] == 10
    assert events[0]["specversion"] == "1.0"


def test_newest_first_reverses_the_order(topics, api_as):
    published = [place(n) for n in range(4)]
    events = read_all(api_as(ALL), {"order": "newest", "limit": 2})
    assert [e["id"] for e in events] == in_log_order(published)[::-1]


def test_filters_by_type_pattern_key_subject_and_partition(topics, api_as):
    """Each filter narrows the range to the matching events only."""
    api = api_as(ALL)
    place(1, key="k-1")
    place(2, key="k-2")
    scrapped = publish("gadgets", "gadget.scrapped", {"why": "rust"}, subject="s-9")
    assert [e["id"] for e in read_all(api, {"type": "gadget.scr*"})] == [
        scrapped.event_id
    ]
    by_key = read_all(api, {"key": "k-2"})
    assert [e["partitionkey"] for e in by_key] == ["k-2"]
    assert [e["subject"] for e in read_all(api, {"subject": "s-9"})] == ["s-9"]
    part = scrapped.position.partition
    assert all(
        e["position"]["partition"] == part for e in read_all(api, {"partition": part})
    )
    both = read_all(api, {"type": ["gadget.built", "gadget.scrapped"]})
    assert len(both) == 3


def test_a_range_by_stream_id_ms_or_iso_time(topics, api_as):
    """start is inclusive and end exclusive, whichever way they are written."""
    api = api_as(ALL)
    published = [place(n) for n in range(5)]
    third = published[2].position
    by_id = read_all(api, {"start": third.stream_id})
    later = [p for p in published if sid(p) >= sid(published[2])]
    assert [e["id"] for e in by_id] == in_log_order(later)
    before = read_all(api, {"end": third.stream_id})
    earlier = [p for p in published if sid(p) < sid(published[2])]
    assert [e["id"] for e in before] == in_log_order(earlier)
    after_ms = read_all(api, {"start": str(third.ms + 10_000)})
    assert after_ms == []
    iso = datetime.fromtimestamp(third.ms / 1000, tz=UTC).isoformat()
    by_iso = read_all(api, {"end": iso})
    assert [e["id"] for e in by_iso] == in_log_order(
        [p for p in published if sid(p)[0] < third.ms]
    )


def test_a_cursor_from_another_query_is_refused(topics, api_as):
    api = api_as(ALL)
    for n in range(3):
        place(n)
    cursor = api.get(EVENTS, {"limit": 1}).json()["next_cursor"]
    response = api.get(EVENTS, {"limit": 1, "type": "x.*", "cursor": cursor})
    assert "cursor" in assert_problem(response, 422)["errors"]


def test_topics_are_listed_with_partitions_retention_and_lengths(topics, api_as):
    for n in range(3):
        place(n)
    body = api_as(ALL).get("/api/v1/topics").json()
    gadgets = next(t for t in body["topics"] if t["name"] == "gadgets")
    assert gadgets["partitions"] == 4
    assert gadgets["retention_ms"] == 86_400_000
    assert gadgets["length"] == 3


def test_one_topic_shows_each_partition(topics, api_as):
    published = place(1)
    body = api_as("subscribe:gadgets").get("/api/v1/topics/gadgets").json()
    stats = {s["partition"]: s for s in body["partition_stats"]}
    assert sorted(stats) == [0, 1, 2, 3]
    mine = stats[published.position.partition]
    assert mine["length"] == 1
    assert mine["first_id"] == mine["last_id"] == published.position.stream_id
    empty = next(s for p, s in stats.items() if p != published.position.partition)
    assert (empty["length"], empty["first_id"], empty["last_id"]) == (0, None, None)


def test_event_types_show_every_schema_version(topics, api_as):
    """v1 and v2 of a type are both listed, latest_version names v2."""
    v2 = {"type": "object", "properties": {"why": {"type": "string"}}}
    register_event_type("gadget.scrapped", topic="gadgets", schema=v2, version=2)
    api = api_as("subscribe:gadgets")
    body = api.get("/api/v1/event-types/gadget.scrapped").json()
    assert body["topic"] == "gadgets" and body["latest_version"] == 2
    assert [v["version"] for v in body["versions"]] == [1, 2]
    assert body["versions"][1]["schema"] == v2
    assert body["versions"][1]["dataschema"].endswith("gadget.scrapped:2")
    listed = api.get("/api/v1/event-types").json()["event_types"]
    assert [t["type"] for t in listed] == ["gadget.built", "gadget.scrapped"]
