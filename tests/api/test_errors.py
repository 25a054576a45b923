"""Every error under /api/ has one JSON shape and the right status, never HTML."""

from __future__ import annotations

import io
import json

import pytest
from django.http import HttpResponse
from django.test import Client, override_settings

from config.problems import ApiProblemMiddleware, PayloadTooLarge
from console.api.base import LimitedJSONParser
from eventbus.exceptions import BusUnavailable
from tests.api.conftest import Api, assert_problem
from tests.conftest import free_port

PUBLISH = "/api/v1/topics/gadgets/events"
ALL = "publish,subscribe,manage:*"
BUILT = {"type": "gadget.built", "data": {"gadget_id": "g-1", "amount": 1}}


def test_malformed_json_is_400(topics, api_as):
    body = assert_problem(
        api_as(ALL).post(PUBLISH, '{"type": "gadget.built", "data": {'),
        400,
        "malformed-body",
    )
    assert "JSON" in body["detail"]


def test_a_form_encoded_body_is_415(topics, api_as):
    response = api_as(ALL).post(
        PUBLISH, "type=x", content_type="application/x-www-form-urlencoded"
    )
    assert_problem(response, 415, "unsupported-media-type")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_an_oversized_body_is_413_in_the_shape(topics, api_as):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is 413, not Django's 400 or a 500."""
    big = {**BUILT, "data": {"gadget_id": "g" * 2000, "amount": 1}}
    body = assert_problem(api_as(ALL).post(PUBLISH, big), 413, "payload-too-large")
    assert "1000 bytes" in body["detail"]
    batch = {"events": [{**big, "topic": "gadgets"}]}
    assert_problem(api_as(ALL).post("/api/v1/batch", batch), 413, "payload-too-large")


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10)
def test_the_parser_refuses_a_body_without_a_declared_length():
    """A chunked body (no Content-Length) is still cut off at the limit."""
    with pytest.raises(PayloadTooLarge):
        LimitedJSONParser().parse(io.BytesIO(b'{"data": "0123456789"}'))
    assert LimitedJSONParser().parse(io.BytesIO(b'{"a": 1}')) == {"a": 1}


def test_other_methods_are_405_with_allow(topics, api_as):
    api = api_as(ALL)
    response = api.get("/api/v1/batch")
    assert_problem(response, 405, "method-not-allowed")
    assert "POST" in response["Allow"]
    assert_problem(api.client.delete("/api/v1/topics/gadgets"), 405)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing-here",
        "/api/v1/topics/gizmos",
        "/api/v1/topics/Not%20A%20Name/events",
        "/api/v1/topics/gadgets/groups/nobody",
        "/api/v1/topics/gadgets/groups/nobody/dead-letters",
        "/api/v1/topics/gadgets/groups/shipping/dead-letters/1-0",
        "/api/v1/topics/gadgets/groups/shipping/dead-letters/not-an-id",
        "/api/v1/topics/gadgets/groups/shipping/dead-letters/99999999999999999999999-0",
        "/api/v1/event-types/gadget.melted",
    ],
)
def test_unknown_things_are_404_in_the_shape(group, api_as, path):
    """Unknown URLs, topics, groups, letters and types are 404 JSON, not HTML."""
    assert_problem(api_as(ALL).get(path), 404, "not-found")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"order": "sideways"}, "order"),
        ({"start": "last tuesday"}, "start"),
        ({"end": "soon"}, "end"),
        ({"cursor": "garbage"}, "cursor"),
        ({"start": "99999999999999999999999-0"}, "start"),
        ({"start": "18446744073709551616"}, "start"),
        ({"end": "1-18446744073709551616"}, "end"),
        ({"start": "\u00b2"}, "start"),
    ],
)
def test_bad_read_parameters_are_422_naming_the_parameter(
    topics, api_as, params, field
):
    response = api_as(ALL).get("/api/v1/topics/gadgets/events", params)
    assert field in assert_problem(response, 422)["errors"]


def test_a_partition_the_topic_lacks_is_422(topics, api_as):
    response = api_as(ALL).get("/api/v1/topics/gadgets/events", {"partition": 9})
    assert "0-3" in assert_problem(response, 422)["detail"]


def test_redis_down_is_503_in_the_shape(topics, api_as, bus_on):
    """With Redis unreachable reads and publishes answer 503 with Retry-After."""
    api = api_as(ALL)
    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    for response in (
        api.get("/api/v1/topics"),
        api.get("/api/v1/topics/gadgets/events"),
        api.post(PUBLISH, BUILT),
        api.get("/api/v1/groups"),
    ):
        body = assert_problem(response, 503, "bus-unavailable")
        assert "Redis" in body["detail"]
        assert response["Retry-After"]


def test_a_crash_is_a_json_500_not_an_html_page(topics, api_as, monkeypatch):
    """A bug in a view still answers in the shape (and is logged)."""

    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("console.api.views_topics.list_topics", broken)
    body = assert_problem(api_as(ALL).get("/api/v1/topics"), 500, "server-error")
    assert "a bug" not in body["detail"]  # internals stay in the log


def test_unauthenticated_requests_to_unknown_paths_are_404_json(db):
    assert_problem(Api().get("/api/nothing"), 404, "not-found")


def test_pages_outside_the_api_keep_their_html_errors(db):
    """The middleware leaves the console's own 404 page alone."""
    response = Client().get("/no-such-console-page/")
    assert response.status_code in (302, 404)
    assert not response.get("Content-Type", "").startswith("application/json")


def test_non_drf_views_under_the_api_answer_503_and_500_in_the_shape(rf):
    """Errors escaping a plain Django view under /api/ keep the shape too."""
    middleware = ApiProblemMiddleware(lambda request: HttpResponse())
    request = rf.get("/api/asyncapi.json")
    down = middleware.process_exception(request, BusUnavailable("Redis is down"))
    assert down.status_code == 503 and down["Retry-After"]
    assert json.loads(down.content)["type"] == "bus-unavailable"
    crash = middleware.process_exception(request, KeyError("x"))
    assert crash.status_code == 500
    assert set(json.loads(crash.content)) == {"type", "title", "detail", "errors"}
    assert middleware.process_exception(rf.get("/topics/"), KeyError("x")) is None
