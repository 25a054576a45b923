"""Resetting a group from the console: dry run first, stale refused, audited."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from console.models import AuditEntry
from tests.console.groups_helpers import TOPIC, declare, fill, group_at, positions


@pytest.fixture
def setup(bus, make_topic):
    """Two partitions, eight events, 'inventory' at latest, 'shipping' at earliest."""
    declare(make_topic)
    published = fill(8)
    group_at("inventory", start="latest")
    group_at("shipping", start="earliest")
    return published


def reset_url() -> str:
    return reverse("console:group-reset", args=[TOPIC, "inventory"])


def preview(client: Client, **form: object) -> tuple[int, str, str | None]:
    response = client.post(reset_url(), {"action": "preview", **form})
    html = response.content.decode()
    found = re.search(r'name="token" value="([^"]+)"', html)
    return response.status_code, html, found.group(1) if found else None


def test_preview_shows_the_plan_and_changes_nothing(bus, setup, client_as):
    """A preview lists current → new per partition and leaves positions alone."""
    before = positions(bus, "inventory")
    status, html, token = preview(client_as("operator"), mode="earliest")
    assert status == 200 and token
    assert "Dry run: reset to earliest" in html
    assert "8</strong> event(s) will be delivered" in html
    for position in before.values():
        assert position in html
    assert positions(bus, "inventory") == before
    assert not AuditEntry.objects.exists()


def test_confirm_applies_the_previewed_positions_and_audits(bus, setup, client_as):
    """Confirm moves the group and records who, before and after per partition."""
    before = positions(bus, "inventory")
    client = client_as("operator")
    _, _, token = preview(client, mode="earliest")
    response = client.post(reset_url(), {"action": "apply", "token": token})
    assert response.status_code == 302
    assert positions(bus, "inventory") == {0: "0-0", 1: "0-0"}
    entry = AuditEntry.objects.get(action="group.reset")
    assert entry.username == "operator"
    assert entry.target == f"{TOPIC} / inventory"
    assert entry.before == {str(p): pos for p, pos in before.items()}
    assert entry.after == {"0": "0-0", "1": "0-0"}
    assert entry.detail["to_deliver"] == 8
    # A confirmation is used once: positions now differ from its preview.
    again = client.post(reset_url(), {"action": "apply", "token": token})
    assert again.status_code == 409


def test_every_mode_previews(bus, setup, client_as):
    """Earliest, latest, time, ago, id, shift and another group's position plan."""
    client = client_as("operator")
    last = setup[-1].position
    forms = [
        {"mode": "earliest"},
        {"mode": "latest"},
        {"mode": "time", "value": "2020-01-01T00:00Z"},
        {"mode": "ago", "value": "1h"},
        {"mode": "id", "value": last.stream_id, "partitions": [last.partition]},
        {"mode": "shift", "value": "-1"},
        {"mode": "group", "value": "shipping"},
    ]
    for form in forms:
        status, html, token = preview(client, **form)
        assert status == 200 and token, (form, html)


def test_a_partition_subset_moves_only_those_partitions(bus, setup, client_as):
    """Ticking partition 1 previews and applies partition 1 only."""
    before = positions(bus, "inventory")
    client = client_as("operator")
    _, html, token = preview(client, mode="earliest", partitions=["1"])
    client.post(reset_url(), {"action": "apply", "token": token})
    assert positions(bus, "inventory") == {0: before[0], 1: "0-0"}
    assert AuditEntry.objects.get().after == {"1": "0-0"}


def test_a_bad_value_is_explained_on_the_form(bus, setup, client_as):
    """A wrong value re-renders the form with what to enter, and changes nothing."""
    before = positions(bus, "inventory")
    client = client_as("operator")
    for form, says in [
        ({"mode": "ago", "value": "soon"}, "is not a duration"),
        ({"mode": "shift", "value": "x"}, "Shift by a whole number"),
        ({"mode": "time"}, "needs a value"),
        ({"mode": "id", "value": "1-0"}, "one partition"),
        ({"mode": "earliest", "partitions": ["9"]}, "not a partition"),
    ]:
        status, html, token = preview(client, **form)
        assert status == 400 and token is None, form
        assert says in html, (form, html)
    assert positions(bus, "inventory") == before


def test_a_stale_preview_is_refused_with_409(bus, setup, client_as):
    """If positions moved after the preview, apply refuses and shows a fresh plan."""
    client = client_as("operator")
    _, _, token = preview(client, mode="earliest")
    # Someone else moves the group meanwhile (another operator, a worker).
    _, _, other = preview(client_as("admin"), mode="shift", value="-2")
    client_as("admin").post(reset_url(), {"action": "apply", "token": other})
    moved = positions(bus, "inventory")
    response = client.post(reset_url(), {"action": "apply", "token": token})
    assert response.status_code == 409
    html = response.content.decode()
    assert "Positions moved since your preview" in html
    assert 'name="token"' in html  # a fresh plan to confirm instead
    assert positions(bus, "inventory") == moved
    assert AuditEntry.objects.filter(action="group.reset").count() == 1


def test_apply_without_a_preview_or_with_a_forged_one_is_refused(bus, setup, client_as):
    """Apply needs the signed parameters of a preview; nothing moves otherwise."""
    before = positions(bus, "inventory")
    client = client_as("operator")
    missing = client.post(reset_url(), {"action": "apply", "mode": "earliest"})
    assert missing.status_code == 400
    assert "applied only from its dry-run preview" in missing.content.decode()
    forged = client.post(reset_url(), {"action": "apply", "token": "abc:def"})
    assert forged.status_code == 400
    assert "Preview the reset again" in forged.content.decode()
    assert positions(bus, "inventory") == before
    assert not AuditEntry.objects.exists()


def test_a_preview_of_one_group_cannot_apply_to_another(bus, setup, client_as):
    """A token is bound to its topic and group."""
    client = client_as("operator")
    _, _, token = preview(client, mode="earliest")
    url = reverse("console:group-reset", args=[TOPIC, "shipping"])
    before = positions(bus, "shipping")
    response = client.post(url, {"action": "apply", "token": token})
    assert response.status_code == 400
    assert positions(bus, "shipping") == before


def test_viewer_reset_is_refused_with_403_and_nothing_moves(bus, setup, client_as):
    """A viewer's preview and apply POSTs get 403, even with a valid token."""
    before = positions(bus, "inventory")
    _, _, token = preview(client_as("operator"), mode="earliest")
    viewer = client_as("viewer")
    assert (
        viewer.post(reset_url(), {"action": "preview", "mode": "earliest"}).status_code
        == 403
    )
    refused = viewer.post(reset_url(), {"action": "apply", "token": token})
    assert refused.status_code == 403
    assert "operator" in refused.content.decode()
    assert positions(bus, "inventory") == before
    assert not AuditEntry.objects.exists()


def test_reset_is_post_only_and_csrf_protected(bus, setup, console_users):
    """GET is not allowed; a POST without the CSRF token is refused."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(console_users["operator"])
    assert client.get(reset_url()).status_code == 405
    response = client.post(reset_url(), {"action": "preview", "mode": "earliest"})
    assert response.status_code == 403
