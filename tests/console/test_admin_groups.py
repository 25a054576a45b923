"""Consumer groups in Django admin: lag shown, reset previewed first and audited."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from console import health
from console.models import AuditEntry
from eventbus.models import ConsumerGroup
from tests.conftest import free_port
from tests.console.groups_helpers import TOPIC, declare, fill, group_at, positions


@pytest.fixture
def groups(bus, make_topic):
    """Eight events on two partitions; 'inventory' at latest, 'shipping' earliest."""
    declare(make_topic)
    fill(8)
    group_at("inventory", start="latest")
    group_at("shipping", start="earliest")
    return {g.name: g for g in ConsumerGroup.objects.all()}


def reset_url(group: ConsumerGroup) -> str:
    return reverse("admin:eventbus_consumergroup_reset", args=[group.pk])


def preview(
    client: Client, group: ConsumerGroup, **form: object
) -> tuple[int, str, str | None]:
    response = client.post(reset_url(group), {"action": "preview", **form})
    html = response.content.decode()
    found = re.search(r'name="token" value="([^"]+)"', html)
    return response.status_code, html, found.group(1) if found else None


def test_the_list_shows_each_groups_backlog_and_dead_letters(groups, client_as):
    """Backlog comes from Redis: 8 for the group at earliest, 0 at latest."""
    html = (
        client_as("viewer")
        .get(reverse("admin:eventbus_consumergroup_changelist"))
        .content.decode()
    )
    rows = re.findall(r"<tr>.*?</tr>", html, re.S)
    shipping = next(r for r in rows if ">shipping<" in r)
    inventory = next(r for r in rows if ">inventory<" in r)
    assert '<td class="field-backlog">8</td>' in shipping
    assert '<td class="field-backlog">0</td>' in inventory
    assert '<td class="field-dead_letters">0</td>' in shipping


def test_lag_is_unknown_not_zero_when_redis_is_down(
    groups, client_as, bus_on, monkeypatch
):
    """Redis down: the list still renders and shows '?' for the figures."""
    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(health, "_last", (0.0, None))
    response = client_as("viewer").get(
        reverse("admin:eventbus_consumergroup_changelist")
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert '<td class="field-backlog">?</td>' in html
    assert '<td class="field-backlog">0</td>' not in html


def test_the_reset_action_leads_to_the_form_for_one_group(groups, client_as):
    """Ticking one group and choosing the action opens its reset form."""
    client = client_as("operator")
    url = reverse("admin:eventbus_consumergroup_changelist")
    group = groups["inventory"]
    response = client.post(
        url, {"action": "reset_positions", "_selected_action": [group.pk]}
    )
    assert response.status_code == 302
    assert response["Location"] == reset_url(group)
    form = client.get(response["Location"]).content.decode()
    assert 'name="mode"' in form and "Preview (dry run)" in form
    both = client.post(
        url,
        {
            "action": "reset_positions",
            "_selected_action": [g.pk for g in groups.values()],
        },
        follow=True,
    )
    assert "Reset one group at a time" in both.content.decode()


def test_the_viewer_is_offered_no_reset_action(groups, client_as):
    """The action list and the change page offer reset only to operators and up."""
    viewer = client_as("viewer")
    html = viewer.get(
        reverse("admin:eventbus_consumergroup_changelist")
    ).content.decode()
    assert "reset_positions" not in html
    page = reverse("admin:eventbus_consumergroup_change", args=[groups["inventory"].pk])
    assert 'id="reset-link"' not in viewer.get(page).content.decode()
    assert 'id="reset-link"' in client_as("operator").get(page).content.decode()


def test_preview_changes_nothing_and_confirm_applies_it_with_audit(
    bus, groups, client_as
):
    """The dry run shows the plan; Confirm moves the group and is audited via admin."""
    group = groups["inventory"]
    before = positions(bus, "inventory")
    client = client_as("operator")
    status, html, token = preview(client, group, mode="earliest")
    assert status == 200 and token
    assert "Dry run: reset to earliest" in html
    assert "<strong>8</strong> event(s) will be delivered" in html
    assert positions(bus, "inventory") == before
    assert not AuditEntry.objects.exists()
    response = client.post(reset_url(group), {"action": "apply", "token": token})
    assert response.status_code == 302
    assert positions(bus, "inventory") == {0: "0-0", 1: "0-0"}
    entry = AuditEntry.objects.get(action="group.reset")
    assert (entry.via, entry.username) == ("admin", "operator")
    assert entry.target == f"{TOPIC} / inventory"
    assert entry.before == {str(p): pos for p, pos in before.items()}
    assert entry.after == {"0": "0-0", "1": "0-0"}
    assert entry.detail["to_deliver"] == 8


def test_a_stale_preview_is_shown_again_not_applied(bus, groups, client_as):
    """Positions that moved since the preview get a 409 and a fresh plan."""
    group = groups["inventory"]
    client = client_as("operator")
    _, _, token = preview(client, group, mode="earliest")
    _, _, other = preview(client, group, mode="shift", value="-2")
    client.post(reset_url(group), {"action": "apply", "token": other})
    moved = positions(bus, "inventory")
    response = client.post(reset_url(group), {"action": "apply", "token": token})
    assert response.status_code == 409
    assert "Positions moved since the preview" in response.content.decode()
    assert positions(bus, "inventory") == moved
    assert AuditEntry.objects.filter(action="group.reset").count() == 1


def test_bad_values_and_foreign_previews_are_refused(bus, groups, client_as):
    """A bad mode value is explained; another group's preview does not apply here."""
    client = client_as("operator")
    status, html, _ = preview(client, groups["inventory"], mode="ago", value="soon")
    assert status == 400 and "is not a duration" in html
    _, _, token = preview(client, groups["shipping"], mode="latest")
    response = client.post(
        reset_url(groups["inventory"]), {"action": "apply", "token": token}
    )
    assert response.status_code == 400
    assert "This confirmation is for" in response.content.decode()
    forged = client.post(
        reset_url(groups["inventory"]), {"action": "apply", "token": "x"}
    )
    assert forged.status_code == 400
    assert not AuditEntry.objects.exists()
