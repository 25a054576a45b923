"""The alerts page: everyone with a role reads it; only admins change rules."""

from __future__ import annotations

import pytest
from django.urls import reverse

from console.alerts import evaluate
from console.models import Alert, AlertRule, AuditEntry
from eventbus import Outgoing, create_group, publish_many
from tests.consumer_app.events import PROBE_HAPPENED, PROBE_TOPIC

GROUP = "watchers"


@pytest.fixture
def probe(make_topic):
    make_topic(PROBE_TOPIC, partitions=2)
    create_group(PROBE_TOPIC, GROUP, start="earliest")


def form_data(**overrides: object) -> dict[str, object]:
    return {
        "name": "watchers behind",
        "topic": PROBE_TOPIC,
        "group": GROUP,
        "metric": "lag",
        "threshold": "100",
        "for_seconds": "60",
        "email": "ops@example.com",
        "webhook_url": "",
        "enabled": "on",
        **overrides,
    }


def test_admin_creates_a_rule_and_the_change_is_audited(probe, client_as):
    """An admin's valid form creates the rule and writes an audit entry."""
    response = client_as("admin").post(reverse("console:alert_rule_new"), form_data())
    assert response.status_code == 302
    rule = AlertRule.objects.get()
    assert (rule.topic, rule.group, rule.threshold) == (PROBE_TOPIC, GROUP, 100)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.username) == ("alert_rule.change", "admin")
    assert entry.before is None and entry.after["threshold"] == 100
    assert entry.detail == {"op": "create"}


def test_a_rule_on_an_unknown_topic_or_group_is_a_form_error(probe, client_as):
    """Unknown topic or group: the form says which, and nothing is saved."""
    admin = client_as("admin")
    url = reverse("console:alert_rule_new")
    response = admin.post(url, form_data(topic="nosuch"))
    assert response.status_code == 400
    assert "nosuch" in response.context["form"].errors["topic"][0]
    response = admin.post(url, form_data(group="ghosts"))
    assert response.status_code == 400
    message = response.context["form"].errors["group"][0]
    assert "No consumer group 'ghosts'" in message and GROUP in message
    response = admin.post(url, form_data(email="ops@, x"))
    assert "not an email address" in response.context["form"].errors["email"][0]
    assert AlertRule.objects.count() == 0 and AuditEntry.objects.count() == 0


def test_admin_edits_disables_enables_and_deletes_with_audit(probe, client_as):
    """Every change of a rule is audited with before and after."""
    admin = client_as("admin")
    admin.post(reverse("console:alert_rule_new"), form_data())
    rule = AlertRule.objects.get()
    edit = reverse("console:alert_rule_edit", args=[rule.pk])
    assert admin.get(edit).status_code == 200
    response = admin.post(edit, form_data(threshold="7"))
    assert response.status_code == 302
    assert AlertRule.objects.get().threshold == 7
    admin.post(reverse("console:alert_rule_toggle", args=[rule.pk]))
    assert not AlertRule.objects.get().enabled
    admin.post(reverse("console:alert_rule_toggle", args=[rule.pk]))
    assert AlertRule.objects.get().enabled
    admin.post(reverse("console:alert_rule_delete", args=[rule.pk]))
    assert not AlertRule.objects.exists()
    entries = list(AuditEntry.objects.order_by("id"))
    assert [e.detail["op"] for e in entries] == [
        "create",
        "update",
        "disable",
        "enable",
        "delete",
    ]
    assert (entries[1].before["threshold"], entries[1].after["threshold"]) == (100, 7)
    assert entries[4].after is None and entries[4].before["name"] == "watchers behind"


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_viewer_and_operator_read_but_cannot_change_rules(probe, client_as, role):
    """Viewers and operators see the rules; the server refuses their changes."""
    rule = AlertRule.objects.create(
        name="r1", topic=PROBE_TOPIC, group=GROUP, metric="lag", threshold=1
    )
    client = client_as(role)
    page = client.get(reverse("console:alerts"))
    assert page.status_code == 200 and b"r1" in page.content
    assert b"New rule" not in page.content
    for url, data in [
        (reverse("console:alert_rule_new"), form_data()),
        (reverse("console:alert_rule_edit", args=[rule.pk]), form_data()),
        (reverse("console:alert_rule_toggle", args=[rule.pk]), {}),
        (reverse("console:alert_rule_delete", args=[rule.pk]), {}),
    ]:
        response = client.post(url, data)
        assert response.status_code == 403, url
        assert b"admin" in response.content
    rule.refresh_from_db()
    assert rule.enabled and rule.threshold == 1
    assert AlertRule.objects.count() == 1 and AuditEntry.objects.count() == 0


def test_anonymous_users_are_sent_to_login(client, db):
    """Without a session the alerts page redirects to the login page."""
    response = client.get(reverse("console:alerts"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_delete_and_toggle_refuse_get(probe, client_as):
    """Mutations are POST-only, even for an admin."""
    rule = AlertRule.objects.create(
        name="r1", topic=PROBE_TOPIC, group=GROUP, metric="lag", threshold=1
    )
    admin = client_as("admin")
    assert (
        admin.get(reverse("console:alert_rule_delete", args=[rule.pk])).status_code
        == 405
    )
    assert (
        admin.get(reverse("console:alert_rule_toggle", args=[rule.pk])).status_code
        == 405
    )
    assert AlertRule.objects.filter(enabled=True).count() == 1


def test_firing_alerts_show_on_every_page(probe, client_as):
    """A firing alert is listed in the banner of every console page."""
    AlertRule.objects.create(
        name="lagging watchers",
        topic=PROBE_TOPIC,
        group=GROUP,
        metric="lag",
        threshold=1,
        for_seconds=0,
    )
    publish_many(
        Outgoing(PROBE_TOPIC, PROBE_HAPPENED, {"seq": n}, key=str(n)) for n in range(3)
    )
    viewer = client_as("viewer")
    assert b'id="alerts-firing" class="alerts-firing" hidden' in viewer.get("/").content
    evaluate()
    assert Alert.objects.filter(state="firing").count() == 1
    for url in ["/", reverse("console:alerts"), reverse("console:catalog")]:
        content = viewer.get(url).content.decode()
        banner = content.split('id="alerts-firing"', 1)[1].split("</div>", 1)[0]
        assert "hidden" not in banner.split(">", 1)[0], url
        assert "lagging watchers" in banner, url
    history = viewer.get(reverse("console:alerts")).content.decode()
    assert "firing" in history.split('id="rules"', 1)[1]
