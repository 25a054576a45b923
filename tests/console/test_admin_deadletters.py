"""Dead letters in Django admin: inspect, redrive and purge, each audited."""

from __future__ import annotations

import pytest
from django.urls import reverse

from console import health
from console.models import AuditEntry
from tests.conftest import free_port
from tests.console.groups_helpers import TOPIC, failed_letters, letter_ids, redriven


@pytest.fixture
def letters(bus, make_topic):
    """Six dead letters for 'inventory': even ones ValueError, odd ones declined."""
    return failed_letters(bus, make_topic)


def url(name: str, *args: str) -> str:
    return reverse(
        f"admin:eventbus_consumergroup_{name}", args=[TOPIC, "inventory", *args]
    )


def test_the_index_lists_groups_with_letters(letters, client_as):
    """Every topic/group with a dead-letter stream, with its count."""
    response = client_as("viewer").get(
        reverse("admin:eventbus_consumergroup_deadletters")
    )
    assert response.status_code == 200
    assert response.context["rows"] == [
        {"topic": TOPIC, "group": "inventory", "count": 6}
    ]
    assert url("deadletters_group") in response.content.decode()
    groups = reverse("admin:eventbus_consumergroup_changelist")
    html = client_as("viewer").get(groups).content.decode()
    assert f'<a href="{url("deadletters_group")}">6</a>' in html


def test_a_viewer_inspects_letters_without_action_buttons(letters, client_as):
    """Newest first, filterable; a letter shows traceback and payload; no buttons."""
    client = client_as("viewer")
    response = client.get(url("deadletters_group"))
    rows = response.context["letters"]
    assert [r["id"] for r in rows] == list(reversed(letters))
    html = response.content.decode()
    assert "Redrive" not in html and "Purge" not in html
    filtered = client.get(url("deadletters_group"), {"error_type": "ValueError"})
    assert [r["id"] for r in filtered.context["letters"]] == letters[::2][::-1]
    letter = client.get(url("deadletter_letter", letters[0])).content.decode()
    assert "Traceback (most recent call last)" in letter
    assert "ValueError: no stock 0" in letter
    assert "&quot;order_id&quot;: &quot;o0&quot;" in letter
    assert client.get(url("deadletter_letter", "1-0")).status_code == 404


def test_an_operator_redrives_selected_letters_with_audit(bus, letters, client_as):
    """Only the ticked letters move to the group's redrive stream."""
    client = client_as("operator")
    assert "Redrive selected" in client.get(url("deadletters_group")).content.decode()
    response = client.post(
        url("deadletter_redrive"), {"scope": "ids", "ids": letters[:2]}, follow=True
    )
    assert "Redrove 2 of 2 selected letter(s)" in response.content.decode()
    assert redriven(bus) == 2
    assert letter_ids(bus, "inventory") == letters[2:]
    entry = AuditEntry.objects.get(action="deadletter.redrive")
    assert (entry.via, entry.username) == ("admin", "operator")
    assert entry.before == {"letters": 6} and entry.after == {"letters": 4}
    assert entry.detail["ids"] == letters[:2] and entry.detail["moved"] == 2


def test_redrive_all_matching_a_filter_and_then_all(bus, letters, client_as):
    """The filter names letters by error type; 'all' takes the rest."""
    client = client_as("operator")
    client.post(
        url("deadletter_redrive"), {"scope": "filter", "error_type": "ValueError"}
    )
    assert redriven(bus) == 3
    client.post(url("deadletter_redrive"), {"scope": "all"})
    assert redriven(bus) == 6 and letter_ids(bus, "inventory") == []
    assert AuditEntry.objects.filter(action="deadletter.redrive").count() == 2


def test_an_empty_selection_is_explained_and_changes_nothing(bus, letters, client_as):
    """No ticked letter: a message says what to do; nothing moves or is audited."""
    response = client_as("operator").post(
        url("deadletter_redrive"), {"scope": "ids"}, follow=True
    )
    assert "No dead letter was ticked" in response.content.decode()
    assert redriven(bus) == 0 and not AuditEntry.objects.exists()


def test_purge_asks_for_the_group_name_before_deleting(bus, letters, client_as):
    """The first POST only shows what would go; a wrong name is refused."""
    client = client_as("operator")
    ask = client.post(url("deadletter_purge"), {"scope": "ids", "ids": letters[:3]})
    assert ask.status_code == 200
    assert "<strong>3</strong> dead letter(s)" in ask.content.decode()
    assert len(letter_ids(bus, "inventory")) == 6
    wrong = client.post(
        url("deadletter_purge"),
        {"scope": "ids", "ids": letters[:3], "confirm": "1", "confirm_group": "ship"},
    )
    assert wrong.status_code == 400
    assert len(letter_ids(bus, "inventory")) == 6
    done = client.post(
        url("deadletter_purge"),
        {
            "scope": "ids",
            "ids": letters[:3],
            "confirm": "1",
            "confirm_group": "inventory",
        },
    )
    assert done.status_code == 302
    assert letter_ids(bus, "inventory") == letters[3:]
    assert redriven(bus) == 0  # purged, not redriven
    entry = AuditEntry.objects.get(action="deadletter.purge")
    assert entry.via == "admin" and entry.detail["removed"] == 3
    assert entry.before == {"letters": 6} and entry.after == {"letters": 3}


def test_a_viewer_cannot_redrive_or_purge(bus, letters, client_as):
    """Both actions are refused with 403 for a viewer; nothing changes."""
    viewer = client_as("viewer")
    assert viewer.post(url("deadletter_redrive"), {"scope": "all"}).status_code == 403
    confirm = {"scope": "all", "confirm": "1", "confirm_group": "inventory"}
    assert viewer.post(url("deadletter_purge"), confirm).status_code == 403
    assert letter_ids(bus, "inventory") == letters


def test_the_pages_render_when_redis_is_down(letters, client_as, bus_on, monkeypatch):
    """Redis down: the pages say so instead of failing."""
    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    monkeypatch.setattr(health, "_last", (0.0, None))
    client = client_as("viewer")
    for page in (
        reverse("admin:eventbus_consumergroup_deadletters"),
        url("deadletters_group"),
    ):
        response = client.get(page)
        assert response.status_code == 200
        assert "is not answering" in response.content.decode()
