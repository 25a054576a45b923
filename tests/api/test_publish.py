"""Publishing over HTTP: one event, atomic batches, field paths, rate limits."""

from __future__ import annotations

import redis
from django.test import override_settings

from eventbus import read_range
from eventbus.keys import stream_key
from tests.api.conftest import assert_problem

PUBLISH = "/api/v1/topics/gadgets/events"
BATCH = "/api/v1/batch"
ALL = "publish,subscribe,manage:*"


def built(n: int = 1, **extra) -> dict:
    return {
        "type": "gadget.built",
        "data": {"gadget_id": f"g-{n}", "amount": n},
        **extra,
    }


def held(client: redis.Redis, topic: str = "gadgets", partitions: int = 4) -> int:
    """Count the entries in every partition of the topic, straight from Redis."""
    return sum(client.xlen(stream_key(topic, p)) for p in range(partitions))


def test_a_published_event_lands_in_its_keys_partition(topics, api_as):
    """201 with the event id and position; the log holds exactly that event."""
    body = built(
        7,
        key="g-7",
        subject="gadget/7",
        id="client-id-7",
        source="/factory/line-2",
        traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
    )
    response = api_as(ALL).post(PUBLISH, body)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["id"] == "client-id-7"
    (event,) = read_range("gadgets").events
    assert event.position.as_dict() == answer["position"]
    assert (event.id, event.source, event.subject) == (
        "client-id-7",
        "/factory/line-2",
        "gadget/7",
    )
    assert event.partitionkey == "g-7" and event.data == body["data"]
    assert event.traceparent == body["traceparent"]


def test_schema_errors_name_each_field_path_and_nothing_is_written(topics, api_as):
    """422 lists every schema error under data.<path>; the log stays empty."""
    bad = {
        "type": "gadget.built",
        "data": {"gadget_id": 5, "amount": -1, "lines": [{}]},
    }
    body = assert_problem(api_as(ALL).post(PUBLISH, bad), 422, "invalid-event")
    assert set(body["errors"]) == {"data.gadget_id", "data.amount", "data.lines.0.sku"}
    assert "minimum" in body["errors"]["data.amount"][0]
    assert held(topics) == 0


def test_envelope_errors_name_the_field(topics, api_as):
    """Missing data, a non-string key or an unknown type are 422 on that field."""
    api = api_as(ALL)
    cases = [
        ({"type": "gadget.built"}, "data"),
        ({**built(), "key": 5}, "key"),
        ({**built(), "type": "gadget.melted"}, "type"),
        ({**built(), "version": 9}, "type"),
        ({**built(), "traceparent": "nope"}, "traceparent"),
    ]
    for payload, field in cases:
        body = assert_problem(api.post(PUBLISH, payload), 422)
        assert field in body["errors"], (payload, body)
    assert held(topics) == 0


def test_publishing_to_an_unknown_topic_is_404(topics, api_as):
    """The topic in the path must exist."""
    body = assert_problem(
        api_as(ALL).post("/api/v1/topics/gizmos/events", built()), 404, "not-found"
    )
    assert "gizmos" in body["detail"]


def test_a_batch_is_published_whole_across_topics(topics, api_as):
    """201 with one position per event, in order; both topics hold theirs."""
    events = [{**built(n), "topic": "gadgets"} for n in range(3)]
    events.append({"topic": "ledger", "type": "ledger.posted", "data": {"n": 1}})
    response = api_as(ALL).post(BATCH, {"events": events})
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["count"] == 4
    assert [p["position"]["topic"] for p in answer["published"]] == [
        "gadgets",
        "gadgets",
        "gadgets",
        "ledger",
    ]
    assert held(topics) == 3 and held(topics, "ledger", 2) == 1


def test_a_batch_with_an_invalid_third_event_writes_nothing(topics, api_as):
    """Events 0, 1, 3 and 4 are fine, event 2 is not: 422 naming index 2 only."""
    events = [{**built(n), "topic": "gadgets"} for n in range(5)]
    events[2]["data"] = {"gadget_id": "g-2"}  # amount is required
    body = assert_problem(api_as(ALL).post(BATCH, {"events": events}), 422)
    assert list(body["errors"]) == ["events.2.data.amount"]
    assert "required" in body["errors"]["events.2.data.amount"][0]
    assert held(topics) == 0


def test_batch_errors_are_reported_per_index(topics, api_as):
    """Shape errors, unknown topics and schema errors each name their event."""
    events = [
        {**built(0), "topic": "gadgets"},
        {"topic": "gadgets", "data": {}},
        {**built(2), "topic": "gizmos"},
        {**built(3, data={"gadget_id": "x", "amount": "many"}), "topic": "gadgets"},
    ]
    api = api_as(ALL)
    body = assert_problem(api.post(BATCH, {"events": events}), 422)
    assert "events.1.type" in body["errors"]
    events[1]["type"] = "gadget.built"
    body = assert_problem(api.post(BATCH, {"events": events}), 422)
    assert set(body["errors"]) == {
        "events.1.data.gadget_id",
        "events.1.data.amount",
    } | {
        "events.2.topic",
        "events.3.data.amount",
    }
    assert held(topics) == 0


@override_settings(API={"PUBLISH_RATE": 200, "MAX_BATCH": 3})
def test_a_batch_over_the_limit_is_413_before_any_check(topics, api_as):
    """More than MAX_BATCH events are refused whole with a clear message."""
    events = [{**built(n), "topic": "gadgets"} for n in range(4)]
    body = assert_problem(api_as(ALL).post(BATCH, {"events": events}), 413)
    assert "at most 3" in body["detail"]
    assert held(topics) == 0


def test_an_empty_or_missing_batch_is_422(topics, api_as):
    api = api_as(ALL)
    assert "events" in assert_problem(api.post(BATCH, {"events": []}), 422)["errors"]
    assert "events" in assert_problem(api.post(BATCH, {}), 422)["errors"]
    assert_problem(api.post(BATCH, [1, 2]), 422, "invalid-request")


def test_a_token_over_its_publish_rate_gets_429_with_retry_after(topics, api_as):
    """publish_rate=1 allows a burst of 2; the third event waits, nothing written."""
    api = api_as(ALL, publish_rate=1)
    assert api.post(PUBLISH, built(1)).status_code == 201
    assert api.post(PUBLISH, built(2)).status_code == 201
    response = api.post(PUBLISH, built(3))
    body = assert_problem(response, 429, "rate-limited")
    assert int(response["Retry-After"]) >= 1
    assert "1 events/s" in body["detail"]
    assert held(topics) == 2


def test_rate_limits_are_per_token(topics, api_as):
    """One token's exhausted bucket does not slow another token."""
    first, second = api_as(ALL, publish_rate=1), api_as(ALL, publish_rate=1)
    for n in range(2):
        assert first.post(PUBLISH, built(n)).status_code == 201
    assert first.post(PUBLISH, built(9)).status_code == 429
    assert second.post(PUBLISH, built(9)).status_code == 201


def test_a_batch_larger_than_the_burst_is_413_not_429(topics, api_as):
    """A batch that could never fit the token's bucket says to split it."""
    events = [{**built(n), "topic": "gadgets"} for n in range(3)]
    body = assert_problem(
        api_as(ALL, publish_rate=1).post(BATCH, {"events": events}), 413
    )
    assert "Split the batch" in body["detail"]
    assert held(topics) == 0


def test_a_batch_counts_each_event_against_the_rate(topics, api_as):
    """A batch of 2 uses the whole burst of a publish_rate=1 token."""
    api = api_as(ALL, publish_rate=1)
    events = [{**built(n), "topic": "gadgets"} for n in range(2)]
    assert api.post(BATCH, {"events": events}).status_code == 201
    assert_problem(api.post(PUBLISH, built(5)), 429)


def test_a_type_registered_in_admin_is_published_over_http(topics, api_as, client):
    """An edge device's type, stored as an EventSchema row and not in code, is
    accepted, validated and listed in the AsyncAPI catalog."""
    from eventbus.models import EventSchema

    EventSchema.objects.create(
        type="gadget.sensed",
        version=1,
        topic="gadgets",
        schema={
            "type": "object",
            "required": ["celsius"],
            "properties": {"celsius": {"type": "number"}},
        },
        producer="edge devices",
    )
    api = api_as(ALL)
    good = {"type": "gadget.sensed", "data": {"celsius": 20.5}}
    assert api.post(PUBLISH, good).status_code == 201
    bad = {"type": "gadget.sensed", "data": {"celsius": "hot"}}
    assert_problem(api.post(PUBLISH, bad), 422)
    assert [e.type for e in read_range("gadgets").events] == ["gadget.sensed"]
    messages = client.get("/api/asyncapi.json").json()["channels"]["gadgets"]
    assert "gadget.sensed.v1" in messages["messages"]
