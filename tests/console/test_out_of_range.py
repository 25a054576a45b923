"""Ids and times past Redis's 64-bit limits get a clear answer, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.console.groups_helpers import TOPIC, declare, fill, group_at

HUGE = "99999999999999999999999"
PAST_64_BITS = "18446744073709551616"


@pytest.fixture
def setup(bus, make_topic):
    declare(make_topic)
    fill(4)
    group_at("inventory", start="latest")


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ({"start": PAST_64_BITS}, "is not a time or position"),
        ({"end": HUGE}, "is not a time or position"),
        ({"start": f"1-{PAST_64_BITS}"}, "is not a time or position"),
        ({"start": "\u00b2"}, "is not a time or position"),
        ({"partition": "\u00b2"}, "does not exist"),
        ({"size": "\u00b2"}, "is not one of"),
    ],
)
def test_the_message_browser_explains_bad_bounds(setup, client_as, query, says):
    response = client_as("viewer").get(reverse("console:topic", args=[TOPIC]), query)
    assert response.status_code == 400
    assert any(says in error for error in response.context["errors"])


def test_an_export_with_a_bad_bound_is_400(setup, client_as):
    url = reverse("console:topic-export", args=[TOPIC, "json"])
    response = client_as("viewer").get(url, {"start": HUGE})
    assert response.status_code == 400
    assert "is not a time or position" in response.content.decode()


@pytest.mark.parametrize(
    "stream_id", [f"{PAST_64_BITS}-0", f"1-{PAST_64_BITS}", "\u00b2-0", "1"]
)
def test_an_event_at_an_impossible_position_is_404(setup, client_as, stream_id):
    url = reverse("console:event", args=[TOPIC, 0, stream_id])
    assert client_as("viewer").get(url).status_code == 404


def test_reproducing_an_impossible_position_is_404(setup, client_as):
    url = reverse("console:topic-publish", args=[TOPIC])
    response = client_as("operator").get(url, {"reproduce": f"0/{HUGE}-0"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"mode": "id", "value": f"{HUGE}-0", "partitions": ["0"]}, "2**64-1"),
        ({"mode": "time", "value": PAST_64_BITS}, "from 0 to"),
        ({"mode": "time", "value": "\u00b2"}, "is not a time"),
        ({"mode": "ago", "value": "P99999999999W"}, "longer than Python"),
    ],
)
def test_a_reset_preview_refuses_impossible_targets(setup, client_as, form, says):
    url = reverse("console:group-reset", args=[TOPIC, "inventory"])
    response = client_as("operator").post(url, {"action": "preview", **form})
    assert response.status_code == 400
    assert says in response.content.decode()


def test_a_reset_to_long_ago_previews_as_earliest(setup, client_as):
    url = reverse("console:group-reset", args=[TOPIC, "inventory"])
    response = client_as("operator").post(
        url, {"action": "preview", "mode": "ago", "value": "300000000d"}
    )
    assert response.status_code == 200
    assert "42857142w6d ago" in response.content.decode()


def test_a_replay_from_an_impossible_time_is_refused(setup, client_as):
    url = reverse("console:group-replay", args=[TOPIC])
    response = client_as("operator").post(url, {"group": "replay-1", "start": HUGE})
    assert response.status_code == 400
    assert "from 0 to" in response.content.decode()
