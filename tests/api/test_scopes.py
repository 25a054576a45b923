"""Scope matrix: every endpoint against every scope, with real tokens and logins."""

from __future__ import annotations

from typing import Any

import pytest

from tests.api.conftest import Api, assert_problem, dead_letter, place

GROUP = "/api/v1/topics/gadgets/groups/shipping"
BUILT = {"type": "gadget.built", "data": {"gadget_id": "g-1", "amount": 1}}
ANY = {"publish", "subscribe", "manage"}

# (id, method, path, body, scopes any one of which lets the call through)
ENDPOINTS: list[tuple[str, str, str, Any, set[str]]] = [
    ("read", "get", "/api/v1/topics/gadgets/events", None, {"subscribe"}),
    ("publish", "post", "/api/v1/topics/gadgets/events", BUILT, {"publish"}),
    (
        "batch",
        "post",
        "/api/v1/batch",
        {"events": [{**BUILT, "topic": "gadgets"}]},
        {"publish"},
    ),
    ("topic", "get", "/api/v1/topics/gadgets", None, ANY),
    ("groups", "get", "/api/v1/groups?topic=gadgets", None, {"subscribe", "manage"}),
    ("group", "get", GROUP, None, {"subscribe", "manage"}),
    ("reset", "post", f"{GROUP}/reset", {"mode": "earliest"}, {"manage"}),
    ("letters", "get", f"{GROUP}/dead-letters", None, {"manage"}),
    ("letter", "get", f"{GROUP}/dead-letters/{{letter}}", None, {"manage"}),
    (
        "redrive",
        "post",
        f"{GROUP}/dead-letters/redrive",
        {"all": True, "dry_run": True},
        {"manage"},
    ),
    ("event-type", "get", "/api/v1/event-types/gadget.built", None, ANY),
]

# (id, how the caller authenticates, the scopes it holds on 'gadgets')
CALLERS: list[tuple[str, str, set[str]]] = [
    ("publish-token", "publish:gadgets", {"publish"}),
    ("subscribe-token", "subscribe:gad*", {"subscribe"}),
    ("manage-token", "manage:gadgets", {"manage"}),
    ("other-topic-token", "publish,subscribe,manage:ledger", set()),
    ("viewer-login", "viewer", {"subscribe"}),
    ("operator-login", "operator", ANY),
]


@pytest.fixture
def caller(request, make_token, client_as) -> Any:
    def make(how: str) -> Api:
        if ":" in how:
            return Api(make_token(how))
        return Api(client=client_as(how))

    return make


@pytest.mark.parametrize(
    ("how", "held"), [c[1:] for c in CALLERS], ids=[c[0] for c in CALLERS]
)
@pytest.mark.parametrize(
    ("method", "path", "body", "needed"),
    [e[1:] for e in ENDPOINTS],
    ids=[e[0] for e in ENDPOINTS],
)
def test_each_endpoint_lets_in_exactly_the_callers_with_its_scope(
    topics, group, caller, how, held, method, path, body, needed
):
    """A caller holding a needed scope gets 2xx; any other gets 403 in the shape."""
    letter = dead_letter(topics, place(1), "shipping")
    client = caller(how)
    url = path.format(letter=letter)
    response = client.get(url) if method == "get" else client.post(url, body)
    if held & needed:
        assert response.status_code in (200, 201), response.content
    else:
        body = assert_problem(response, 403, "forbidden")
        assert "gadgets" in body["detail"]


def test_listings_show_only_topics_the_caller_holds_a_scope_on(topics, api_as):
    """Topics, groups and event types of other topics are left out of lists."""
    api = api_as("subscribe:ledger")
    names = [t["name"] for t in api.get("/api/v1/topics").json()["topics"]]
    assert names == ["ledger"]
    types = api.get("/api/v1/event-types").json()["event_types"]
    assert {t["topic"] for t in types} == {"ledger"}
    assert api.get("/api/v1/groups").json() == {"groups": []}


def test_a_listing_of_groups_includes_those_on_watched_topics(group, api_as):
    """A manage scope on the topic is enough to list its groups with lag."""
    groups = api_as("manage:gadgets").get("/api/v1/groups").json()["groups"]
    assert [(g["topic"], g["name"]) for g in groups] == [("gadgets", "shipping")]


def test_a_user_without_a_console_role_is_refused(topics, client_as):
    """A logged-in account with no role gets 403 naming what it lacks."""
    body = assert_problem(Api(client=client_as("nobody")).get("/api/v1/topics"), 403)
    assert "role" in body["detail"]
