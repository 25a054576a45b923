"""Console roles in Django admin: who may enter, see, change and act."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from console.audit import audit_record
from console.models import AuditEntry
from tests.console.groups_helpers import TOPIC, declare, fill, group_at


def topic_form(**fields: object) -> dict[str, object]:
    """The topic change form's fields, as a browser posts them."""
    form = {
        "partitions": "2",
        "retention_ms": "",
        "retention_max_len": "",
        "overflow_policy": "block-trim",
        "description": "",
        "owner": "",
    }
    form.update(fields)
    return form


@pytest.fixture
def topic(bus, make_topic):
    """The test topic with two partitions, four events and the group 'inventory'."""
    declare(make_topic)
    fill(4)
    group_at("inventory")
    from eventbus.models import ConsumerGroup, Topic

    return Topic.objects.get(name=TOPIC), ConsumerGroup.objects.get(name="inventory")


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
def test_every_console_role_enters_admin_without_the_staff_flag(client_as, role):
    """A viewer, operator or admin (not staff) gets the admin index."""
    response = client_as(role).get(reverse("admin:index"))
    assert response.status_code == 200
    assert "Switchyard control plane" in response.content.decode()


def test_a_user_without_a_role_is_sent_to_the_login_page(client_as, client):
    """Logged in without a role, or not logged in: the admin login page, no index."""
    for who in (client_as("nobody"), client):
        response = who.get(reverse("admin:index"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_the_admin_login_form_accepts_roles_and_refuses_the_rest(console_users):
    """A role user logs in on the admin's own form; a user without one is refused."""
    client = Client()
    url = reverse("admin:login")
    ok = client.post(url, {"username": "viewer", "password": "viewer-pw-1"})
    assert ok.status_code == 302
    assert client.get(reverse("admin:index")).status_code == 200
    refused = Client().post(url, {"username": "nobody", "password": "x-pw-1"})
    assert refused.status_code == 200
    assert "account with a console role" in refused.content.decode()


def test_the_index_lists_bus_objects_and_dead_letters_for_a_viewer(client_as):
    """A viewer's index shows topics, groups, tokens and the dead-letter page."""
    html = client_as("viewer").get(reverse("admin:index")).content.decode()
    for url in (
        reverse("admin:eventbus_topic_changelist"),
        reverse("admin:eventbus_consumergroup_changelist"),
        reverse("admin:eventbus_consumergroup_deadletters"),
        reverse("admin:console_apitoken_changelist"),
        reverse("admin:console_auditentry_changelist"),
    ):
        assert url in html
    assert reverse("admin:auth_user_changelist") not in html


def test_a_viewer_sees_a_topic_but_cannot_change_it(topic, client_as):
    """The viewer gets the page without inputs; a POST is refused with 403."""
    row, _ = topic
    client = client_as("viewer")
    url = reverse("admin:eventbus_topic_change", args=[row.pk])
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="partitions"' not in page.content.decode()
    assert client.post(url, topic_form(partitions="8")).status_code == 403
    assert client.get(reverse("admin:eventbus_topic_add")).status_code == 403
    assert client.get(reverse("admin:console_apitoken_add")).status_code == 403
    row.refresh_from_db()
    assert row.partitions == 2


def test_an_operator_resets_and_redrives_but_does_not_edit_topics(topic, client_as):
    """Reset and dead-letter actions are open to operators; topic edits are not."""
    row, group = topic
    operator, viewer = client_as("operator"), client_as("viewer")
    reset = reverse("admin:eventbus_consumergroup_reset", args=[group.pk])
    assert operator.get(reset).status_code == 200
    assert viewer.get(reset).status_code == 403
    redrive = reverse(
        "admin:eventbus_consumergroup_deadletter_redrive", args=[TOPIC, "inventory"]
    )
    assert viewer.post(redrive, {"scope": "all"}).status_code == 403
    assert operator.post(redrive, {"scope": "all"}).status_code == 302
    change = reverse("admin:eventbus_topic_change", args=[row.pk])
    assert operator.post(change, topic_form(partitions="8")).status_code == 403
    row.refresh_from_db()
    assert row.partitions == 2


def test_an_admin_edits_topics_and_adds_tokens(topic, client_as):
    """The admin role changes a topic and opens the token add form."""
    row, _ = topic
    admin = client_as("admin")
    change = reverse("admin:eventbus_topic_change", args=[row.pk])
    assert admin.post(change, topic_form(partitions="3")).status_code == 302
    row.refresh_from_db()
    assert row.partitions == 3
    assert admin.get(reverse("admin:console_apitoken_add")).status_code == 200
    assert admin.get(reverse("admin:auth_user_changelist")).status_code == 200


def test_nobody_adds_changes_or_deletes_audit_entries(client_as):
    """The audit log is read-only in admin, for the admin role and superusers too."""
    entry = audit_record(user=None, action="group.reset", target="t / g")
    superuser = Client()
    superuser.force_login(
        get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    )
    change = reverse("admin:console_auditentry_change", args=[entry.pk])
    for client in (client_as("admin"), superuser):
        assert client.get(change).status_code == 200  # viewable
        assert client.get(reverse("admin:console_auditentry_add")).status_code == 403
        assert client.post(change, {"action": "x", "target": "y"}).status_code == 403
        delete = reverse("admin:console_auditentry_delete", args=[entry.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
    entry.refresh_from_db()
    assert entry.action == "group.reset" and AuditEntry.objects.count() == 1


def test_the_admin_role_cannot_make_an_account_superuser(console_users, client_as):
    """Superuser status and direct permissions stay read-only for the admin role."""
    admin = client_as("admin")
    target = console_users["viewer"]
    html = admin.get(reverse("admin:auth_user_change", args=[target.pk])).content
    assert b'name="is_superuser"' not in html and b'name="user_permissions"' not in html
    assert b'name="groups"' in html  # roles are given through groups
    group = reverse("admin:auth_group_change", args=[target.groups.get().pk])
    assert b'name="permissions"' not in admin.get(group).content


def test_the_admin_role_cannot_take_over_a_superuser(console_users, client_as):
    """A superuser's account and password are read-only to the admin role."""
    root = get_user_model().objects.create_superuser("root", "r@example.com", "pw")
    admin = client_as("admin")
    password = reverse("admin:auth_user_password_change", args=[root.pk])
    form = {"password1": "taken-over-1", "password2": "taken-over-1"}
    assert admin.post(password, form).status_code == 403
    delete = reverse("admin:auth_user_delete", args=[root.pk])
    assert admin.post(delete, {"post": "yes"}).status_code == 403
    root.refresh_from_db()
    assert root.check_password("pw")


def test_deleting_alert_rules_in_bulk_is_audited(client_as):
    """'Delete selected' on alert rules writes one audit entry per rule."""
    from console.models import AlertRule

    rules = [
        AlertRule.objects.create(
            name=f"lag-{n}", topic=TOPIC, group="inventory", metric="lag", threshold=5
        )
        for n in range(2)
    ]
    response = client_as("admin").post(
        reverse("admin:console_alertrule_changelist"),
        {
            "action": "delete_selected",
            "_selected_action": [r.pk for r in rules],
            "post": "yes",
        },
    )
    assert response.status_code == 302
    assert not AlertRule.objects.exists()
    entries = AuditEntry.objects.filter(action="alert_rule.change", via="admin")
    assert sorted(e.before["name"] for e in entries) == ["lag-0", "lag-1"]
    assert {e.detail["op"] for e in entries} == {"delete"}
