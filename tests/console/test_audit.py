"""The audit log page: newest first, filtered by action/user/target, paged."""

from __future__ import annotations

from django.urls import reverse

from console.audit import audit_record
from console.models import AuditEntry


def record(user, action: str, target: str) -> None:
    audit_record(user=user, action=action, target=target, before={"0": "1-0"})


def test_viewer_reads_the_log_newest_first(console_users, client_as):
    """Entries show who, what and before/after, the latest at the top."""
    record(console_users["operator"], "group.reset", "orders / inventory")
    record(console_users["admin"], "deadletter.purge", "orders / shipping")
    response = client_as("viewer").get(reverse("console:audit"))
    assert response.status_code == 200
    entries = list(response.context["entries"])
    assert [e.action for e in entries] == ["deadletter.purge", "group.reset"]
    html = response.content.decode()
    assert "orders / inventory" in html and "1-0" in html


def test_filters_by_action_user_and_target(console_users, client_as):
    """Each filter narrows the list; they combine."""
    op, admin = console_users["operator"], console_users["admin"]
    record(op, "group.reset", "orders / inventory")
    record(op, "deadletter.redrive", "orders / inventory")
    record(admin, "group.reset", "payments / ledger")
    client = client_as("viewer")

    def actions(**query: str) -> list[tuple[str, str]]:
        page = client.get(reverse("console:audit"), query).context["entries"]
        return [(e.username, e.target) for e in page]

    assert actions(action="group.reset") == [
        ("admin", "payments / ledger"),
        ("operator", "orders / inventory"),
    ]
    assert len(actions(user="oper")) == 2
    assert actions(target="ledger") == [("admin", "payments / ledger")]
    assert actions(action="group.reset", user="operator") == [
        ("operator", "orders / inventory")
    ]


def test_the_log_is_paged(console_users, client_as):
    """Fifty entries a page; the second page holds the oldest ones."""
    AuditEntry.objects.bulk_create(
        AuditEntry(username="operator", action="group.reset", target=f"t / g{n}")
        for n in range(55)
    )
    client = client_as("viewer")
    first = client.get(reverse("console:audit"))
    assert len(first.context["entries"]) == 50
    assert "older" in first.content.decode()
    second = client.get(reverse("console:audit"), {"page": 2})
    assert len(second.context["entries"]) == 5


def test_a_user_without_a_role_cannot_read_the_log(client_as):
    """The audit log needs at least the viewer role."""
    assert client_as("nobody").get(reverse("console:audit")).status_code == 403
