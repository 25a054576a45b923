"""Publishing a test event from the console: roles, CSRF, schema errors, audit."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

from console.models import AuditEntry
from eventbus import read_range
from tests.conftest import free_port
from tests.console.topics_helpers import (
    CANCELLED,
    PLACED,
    TOPIC,
    declare_shop,
    fill_shop,
)

URL = reverse("console:topic-publish", args=[TOPIC])


@pytest.fixture
def shop(bus, make_topic) -> None:
    declare_shop(make_topic)


def in_log() -> list:
    return read_range(TOPIC, limit=1000).events


def form(**values: object) -> dict[str, object]:
    data = {"type": PLACED, "version": "", "key": "cust-9", "subject": "order-99"}
    data["data"] = json.dumps({"order_id": "o99", "total": 1299})
    data.update(values)
    return data


def test_the_form_lists_the_topics_types_and_their_schemas(shop, client_as) -> None:
    """The form offers the topic's event types and carries their schemas."""
    response = client_as("viewer").get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        f'<option value="{CANCELLED}"' in html and f'<option value="{PLACED}"' in html
    )
    assert 'id="event-schemas"' in html and "minimum" in html
    assert "csrfmiddlewaretoken" in html
    # A viewer may look, but is told publishing needs the operator role.
    assert "Publishing needs the <strong>operator</strong> role" in html


def test_operator_publishes_and_the_audit_log_records_it(shop, client_as) -> None:
    """An operator's publish lands in the log and is audited with its position."""
    response = client_as("operator").post(URL, form())
    assert response.status_code == 302
    [event] = in_log()
    assert (event.type, event.partitionkey, event.subject) == (
        PLACED,
        "cust-9",
        "order-99",
    )
    assert event.data == {"order_id": "o99", "total": 1299}
    pos = event.position
    assert response["Location"] == reverse(
        "console:event", args=[TOPIC, pos.partition, pos.stream_id]
    )
    entry = AuditEntry.objects.get(action="event.publish")
    assert entry.username == "operator"
    assert entry.target == f"topic {TOPIC}"
    assert entry.after == {
        "partition": pos.partition,
        "id": pos.stream_id,
        "type": PLACED,
    }
    assert entry.detail["event_id"] == event.id


def test_data_that_breaks_the_schema_is_shown_next_to_the_field(
    shop, client_as
) -> None:
    """Invalid data is a 422 with the schema error at its field; nothing is sent."""
    bad = form(data=json.dumps({"order_id": "o1", "total": -5}))
    response = client_as("operator").post(URL, bad)
    assert response.status_code == 422
    errors = response.context["form"].errors
    assert "data.total" in errors["data"][0] and "minimum" in errors["data"][0]
    assert 'data-field="data"' in response.content.decode()
    assert in_log() == []
    assert not AuditEntry.objects.exists()


def test_text_that_is_not_json_is_refused(shop, client_as) -> None:
    """Data that does not parse as JSON is refused with where it went wrong."""
    response = client_as("operator").post(URL, form(data="{order_id: 1}"))
    assert response.status_code == 422
    assert "not valid JSON" in response.context["form"].errors["data"][0]
    assert in_log() == []


def test_a_version_that_does_not_exist_is_refused(shop, client_as) -> None:
    """Asking for a schema version that is not registered names the problem."""
    response = client_as("operator").post(URL, form(version="3"))
    assert response.status_code == 422
    assert "v3" in response.context["form"].errors["version"][0]
    assert in_log() == []


def test_a_viewer_cannot_publish(shop, client_as) -> None:
    """A viewer's POST is refused with 403 and nothing is published."""
    response = client_as("viewer").post(URL, form())
    assert response.status_code == 403
    assert "operator" in response.content.decode()
    assert in_log() == []
    assert not AuditEntry.objects.exists()


def test_anonymous_post_goes_to_login(shop, client) -> None:
    """An anonymous POST is sent to the login page and publishes nothing."""
    response = client.post(URL, form())
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert in_log() == []


def test_publish_without_a_csrf_token_is_refused(shop, console_users) -> None:
    """The publish form is CSRF protected: a POST without the token is a 403."""
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(console_users["operator"])
    response = strict.post(URL, form())
    assert response.status_code == 403
    assert in_log() == []


def test_reproduce_prefills_the_form_and_publishes_a_new_event(shop, client_as) -> None:
    """Reproduce copies type, key, subject and data; the copy gets a new id."""
    [original] = fill_shop(1, start=7)
    pos = original.position
    operator = client_as("operator")
    page = operator.get(URL, {"reproduce": f"{pos.partition}/{pos.stream_id}"})
    initial = page.context["form"].initial
    assert initial["type"] == PLACED and initial["key"] == "cust-2"
    assert initial["subject"] == "order-7" and initial["version"] == 1
    assert json.loads(initial["data"])["note"] == "Gift WRAP please"
    response = operator.post(URL, {k: v or "" for k, v in initial.items()})
    assert response.status_code == 302
    copy = [e for e in in_log() if e.id != original.event_id]
    assert len(copy) == 1
    assert copy[0].data == json.loads(initial["data"])
    assert copy[0].partitionkey == "cust-2"
    entry = AuditEntry.objects.get(action="event.publish")
    assert entry.detail["reproduces"] == f"{pos.partition}/{pos.stream_id}"


def test_publish_with_redis_down_says_nothing_was_published(
    shop, client_as, bus_on
) -> None:
    """With Redis down a publish is a 503 with the reason, never a 500."""
    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    response = client_as("operator").post(URL, form())
    assert response.status_code == 503
    assert "Nothing was published" in response.content.decode()
    assert not AuditEntry.objects.exists()
