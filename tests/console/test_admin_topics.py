"""Topics and event schemas in Django admin: validated, live figures, audited."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from console import health
from console.models import AuditEntry
from eventbus.models import EventSchema, Topic
from tests.conftest import free_port
from tests.console.groups_helpers import TOPIC, declare, fill, group_at
from tests.console.test_admin_access import topic_form


@pytest.fixture
def admin(client_as):
    return client_as("admin")


def change_url(topic: Topic) -> str:
    return reverse("admin:eventbus_topic_change", args=[topic.pk])


def test_creating_a_topic_is_audited_with_its_settings(bus, admin):
    """A topic added in admin exists and the audit entry holds what was set."""
    response = admin.post(
        reverse("admin:eventbus_topic_add"),
        topic_form(name="payments", partitions="3", retention_ms="86400000"),
    )
    assert response.status_code == 302
    assert Topic.objects.get(name="payments").partitions == 3
    entry = AuditEntry.objects.get(action="topic.create")
    assert (entry.via, entry.username, entry.target) == (
        "admin",
        "admin",
        "topic payments",
    )
    assert entry.before is None
    assert entry.after["partitions"] == 3 and entry.after["retention_ms"] == 86400000


def test_growing_partitions_is_audited_with_before_and_after(bus, make_topic, admin):
    """A change records both versions and names the partition growth."""
    topic = make_topic("payments", partitions=2)
    form = topic_form(partitions="6", overflow_policy="drop-oldest", owner="billing")
    response = admin.post(change_url(topic), form, follow=True)
    assert "grew from 2 to 6 partitions" in response.content.decode()
    entry = AuditEntry.objects.get(action="topic.change")
    assert entry.before["partitions"] == 2 and entry.after["partitions"] == 6
    assert entry.before["overflow_policy"] == "block-trim"
    assert entry.after["overflow_policy"] == "drop-oldest"
    assert entry.detail["partitions_grown"] == [2, 6]


def test_shrinking_is_refused_with_the_reason_and_not_audited(bus, make_topic, admin):
    """The model's validation answers on the form; nothing changes."""
    topic = make_topic("payments", partitions=4)
    response = admin.post(change_url(topic), topic_form(partitions="2"))
    assert response.status_code == 200
    assert "can grow but never shrink" in response.content.decode()
    topic.refresh_from_db()
    assert topic.partitions == 4
    assert not AuditEntry.objects.exists()


def test_deleting_a_topic_is_audited(bus, make_topic, admin):
    """The audit keeps the deleted topic's settings."""
    topic = make_topic("payments", partitions=2)
    url = reverse("admin:eventbus_topic_delete", args=[topic.pk])
    assert admin.post(url, {"post": "yes"}).status_code == 302
    entry = AuditEntry.objects.get(action="topic.delete")
    assert entry.before["name"] == "payments" and entry.before["partitions"] == 2


def test_the_topic_page_shows_live_partition_lengths_and_lag(bus, make_topic, admin):
    """Each partition's event count and each group's backlog, read-only."""
    declare(make_topic)
    published = fill(6)
    group_at("inventory", start="earliest")
    per_partition = [0, 0]
    for event in published:
        per_partition[event.position.partition] += 1
    page = admin.get(change_url(Topic.objects.get(name=TOPIC)))
    html = page.content.decode()
    assert 'id="partition-figures"' in html
    for p, count in enumerate(per_partition):
        assert f"<tr><td>{p}</td><td>{count}</td>" in html
    assert "<tr><td>inventory</td><td>6</td><td>0</td>" in html


def test_the_topic_page_still_renders_when_redis_is_down(
    bus, make_topic, admin, bus_on, monkeypatch
):
    """Redis down: the form works and the figures say why they are missing."""
    topic = make_topic("payments", partitions=2)
    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(health, "_last", (0.0, None))  # forget the cached check
    page = admin.get(change_url(topic))
    assert page.status_code == 200
    html = page.content.decode()
    assert "is not answering" in html
    assert 'name="partitions"' in html
    response = admin.post(change_url(topic), topic_form(partitions="3"))
    assert response.status_code == 302


# --- event schemas ---------------------------------------------------------

V1 = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}


def schema_form(version: int, schema: dict, **fields: object) -> dict[str, object]:
    form = {
        "type": "gorder.refunded",
        "version": str(version),
        "topic": TOPIC,
        "schema": json.dumps(schema),
        "description": "",
        "producer": "checkout",
    }
    form.update(fields)
    return form


@pytest.fixture
def refunds(bus, make_topic, admin):
    """The test topic with 'gorder.refunded' v1 stored through admin."""
    make_topic(TOPIC, partitions=2)
    response = admin.post(reverse("admin:eventbus_eventschema_add"), schema_form(1, V1))
    assert response.status_code == 302
    return EventSchema.objects.get(type="gorder.refunded", version=1)


def test_adding_a_schema_version_is_audited(refunds):
    """The stored version and its audit entry hold the schema."""
    entry = AuditEntry.objects.get(action="schema.add")
    assert entry.via == "admin"
    assert entry.target == "event type gorder.refunded v1"
    assert entry.after["schema"] == V1 == refunds.schema


def test_a_compatible_version_is_accepted(refunds, admin):
    """A new optional field keeps old events valid: v2 is stored."""
    v2 = {**V1, "properties": {**V1["properties"], "note": {"type": "string"}}}
    response = admin.post(reverse("admin:eventbus_eventschema_add"), schema_form(2, v2))
    assert response.status_code == 302
    assert EventSchema.objects.filter(type="gorder.refunded").count() == 2


def test_an_incompatible_version_is_refused_with_the_reason(refunds, admin):
    """A new required field would reject old events: refused, nothing stored."""
    v2 = {
        **V1,
        "properties": {**V1["properties"], "amount": {"type": "number"}},
        "required": ["id", "amount"],
    }
    response = admin.post(reverse("admin:eventbus_eventschema_add"), schema_form(2, v2))
    assert response.status_code == 200
    html = response.content.decode()
    assert "not backward compatible with v1" in html
    assert "new required field(s) [&#x27;amount&#x27;]" in html
    assert EventSchema.objects.filter(type="gorder.refunded").count() == 1
    assert AuditEntry.objects.filter(action="schema.add").count() == 1


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"schema": json.dumps({"type": 12})}, "Not valid JSON Schema"),
        ({"topic": "nosuch"}, "No topic &#x27;nosuch&#x27;"),
        ({"type": "Refunded"}, "is not a valid event type"),
        ({"version": "0"}, "Versions start at 1"),
    ],
)
def test_invalid_schemas_are_refused_on_the_form(bus, make_topic, admin, fields, says):
    """Each problem is named on the form; nothing is stored."""
    make_topic(TOPIC, partitions=2)
    form = {**schema_form(1, V1), **fields}
    response = admin.post(reverse("admin:eventbus_eventschema_add"), form)
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not EventSchema.objects.exists()


def test_a_version_declared_differently_in_code_is_refused(bus, make_topic, admin):
    """Storing what code declares otherwise would make 'bus sync' refuse the deploy."""
    declare(make_topic)  # registers gorder.placed v1 as {"type": "object"}
    response = admin.post(
        reverse("admin:eventbus_eventschema_add"),
        schema_form(1, V1, type="gorder.placed"),
    )
    assert response.status_code == 200
    assert "declared in code with another schema" in response.content.decode()


def test_stored_versions_cannot_be_edited_or_deleted(refunds, admin):
    """A stored version is shown read-only, even to the admin role."""
    url = reverse("admin:eventbus_eventschema_change", args=[refunds.pk])
    page = admin.get(url)
    assert page.status_code == 200
    assert 'name="schema"' not in page.content.decode()
    assert admin.post(url, schema_form(1, {"type": "object"})).status_code == 403
    delete = reverse("admin:eventbus_eventschema_delete", args=[refunds.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403


def test_deleting_a_topic_deletes_its_data_so_a_new_one_starts_empty(
    bus, make_topic, admin
):
    """Events, groups and dead-letter keys go with the topic; a namesake is empty."""
    declare(make_topic)
    fill(6)
    group_at("inventory")
    bus.xadd(f"sy:{{{TOPIC}}}:dlq:inventory", {"x": "1"})
    bus.set("sy:{other.0}", "kept")  # another topic's key is untouched
    topic = Topic.objects.get(name=TOPIC)
    confirm = admin.get(reverse("admin:eventbus_topic_delete", args=[topic.pk]))
    assert "every event, group position and dead letter" in confirm.content.decode()
    url = reverse("admin:eventbus_topic_delete", args=[topic.pk])
    assert admin.post(url, {"post": "yes"}).status_code == 302
    assert [k for k in bus.scan_iter(match=f"sy:{{{TOPIC}*")] == []
    assert bus.get("sy:{other.0}") == b"kept"
    entry = AuditEntry.objects.get(action="topic.delete")
    assert entry.detail["redis_keys_deleted"] >= 3
    make_topic(TOPIC, partitions=2)
    from eventbus import read_range

    assert read_range(TOPIC).events == []


def test_a_topic_is_not_deleted_while_redis_is_down(bus, make_topic, admin, bus_on):
    """The row stays (and nothing is audited) when its data cannot be deleted."""
    topic = make_topic("payments", partitions=2)
    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    url = reverse("admin:eventbus_topic_delete", args=[topic.pk])
    response = admin.post(url, {"post": "yes"})
    assert response.status_code == 503
    assert Topic.objects.filter(name="payments").exists()
    assert not AuditEntry.objects.filter(action="topic.delete").exists()
