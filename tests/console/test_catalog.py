"""The catalog page: every event type with its producer, consumers and schemas."""

from __future__ import annotations

from django.urls import reverse

from console.catalog_map import catalog_entries
from eventbus import register_event_type


def test_retail_types_appear_with_producer_and_consumers(client_as):
    """order.placed is produced by checkout and consumed by inventory, contact
    and analytics; the page shows its schema."""
    entries = {e.type: e for e in catalog_entries()}
    placed = entries["order.placed"]
    assert placed.topic == "orders" and placed.producer == "checkout"
    assert {"inventory", "contact", "analytics"} <= set(placed.groups)
    assert "shipping" not in placed.groups
    reserved = entries["stock.reserved"]
    assert reserved.producer == "inventory"
    assert {"checkout", "shipping"} <= set(reserved.groups)

    response = client_as("viewer").get(reverse("console:catalog"))
    assert response.status_code == 200
    page = response.content.decode()
    row = page.split('data-type="order.placed"', 1)[1].split("</tr>", 1)[0]
    assert "checkout" in row and "inventory" in row and "contact" in row
    assert "&quot;properties&quot;" in row  # the pretty-printed JSON Schema
    assert '<svg class="catalog-map"' in page


def test_versions_show_their_compatibility(client_as):
    """Each version is listed; later ones say they are backward compatible."""
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    register_event_type("probe.counted", topic="probe", schema=schema, producer="tests")
    register_event_type(
        "probe.counted",
        topic="probe",
        schema={**schema, "properties": {**schema["properties"], "x": {}}},
        version=2,
        producer="tests",
    )
    entry = next(e for e in catalog_entries() if e.type == "probe.counted")
    assert [v.number for v in entry.versions] == [1, 2]
    assert entry.versions[1].compatibility == "backward compatible with v1"
    page = client_as("viewer").get(reverse("console:catalog")).content.decode()
    assert "backward compatible with v1" in page


def test_the_catalog_needs_a_console_role(client_as):
    """A user without a role gets a 403 naming the viewer role."""
    response = client_as("nobody").get(reverse("console:catalog"))
    assert response.status_code == 403
