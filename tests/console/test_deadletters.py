"""Dead-letter pages: list, inspect, redrive one, selected or filtered, purge."""

from __future__ import annotations

import pytest
from django.urls import reverse

from console.models import AuditEntry
from tests.console.groups_helpers import TOPIC, failed_letters, letter_ids, redriven


@pytest.fixture
def letters(bus, make_topic):
    """Six dead letters for 'inventory': even ones ValueError, odd ones declined."""
    return failed_letters(bus, make_topic)


def group_url(name: str = "console:deadletters-group") -> str:
    return reverse(name, args=[TOPIC, "inventory"])


def test_index_lists_groups_with_their_letter_counts(letters, client_as):
    """The index names each topic/group holding letters and how many."""
    response = client_as("viewer").get(reverse("console:deadletters"))
    assert response.status_code == 200
    assert response.context["rows"] == [
        {"topic": TOPIC, "group": "inventory", "count": 6}
    ]


def test_group_list_shows_error_type_message_attempts_and_filters(letters, client_as):
    """Letters are listed newest first; the error-type filter narrows them."""
    client = client_as("viewer")
    response = client.get(group_url())
    rows = response.context["letters"]
    assert [r["id"] for r in rows] == list(reversed(letters))
    assert rows[0]["error_type"].endswith("PaymentDeclined")
    assert rows[0]["attempts"] == 3
    assert rows[1]["message"] == "no stock 4"
    filtered = client.get(group_url(), {"error_type": "ValueError"})
    assert [r["id"] for r in filtered.context["letters"]] == letters[::2][::-1]
    html = client.get(group_url()).content.decode()
    assert "Redrive" not in html  # a viewer gets no action buttons


def test_letter_page_shows_traceback_and_payload(letters, client_as):
    """One letter: full traceback and the event as published."""
    url = reverse("console:deadletter", args=[TOPIC, "inventory", letters[0]])
    response = client_as("viewer").get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Traceback (most recent call last)" in html
    assert "ValueError: no stock 0" in html
    assert "&quot;order_id&quot;: &quot;o0&quot;" in html
    missing = reverse("console:deadletter", args=[TOPIC, "inventory", "1-0"])
    assert client_as("viewer").get(missing).status_code == 404


def test_redrive_one_letter(bus, letters, client_as):
    """Redriving one id moves exactly that letter to the group's redrive stream."""
    response = client_as("operator").post(
        group_url("console:deadletter-redrive"), {"scope": "ids", "ids": letters[2]}
    )
    assert response.status_code == 302
    assert letters[2] not in letter_ids(bus, "inventory")
    assert len(letter_ids(bus, "inventory")) == 5 and redriven(bus) == 1
    entry = AuditEntry.objects.get(action="deadletter.redrive")
    assert entry.username == "operator" and entry.target == f"{TOPIC} / inventory"
    assert entry.before == {"letters": 6} and entry.after == {"letters": 5}
    assert entry.detail == {"scope": "ids", "ids": [letters[2]], "moved": 1}


def test_redrive_selected_letters(bus, letters, client_as):
    """Ticked letters are redriven together, the others stay."""
    client_as("operator").post(
        group_url("console:deadletter-redrive"),
        {"scope": "ids", "ids": [letters[0], letters[5]]},
    )
    assert letter_ids(bus, "inventory") == letters[1:5]
    assert redriven(bus) == 2


def test_redrive_all_matching_a_filter(bus, letters, client_as):
    """Scope 'filter' redrives every letter the filter matches, not only a page."""
    response = client_as("operator").post(
        group_url("console:deadletter-redrive"),
        {"scope": "filter", "error_type": "PaymentDeclined"},
    )
    assert response.status_code == 302
    assert "error_type=PaymentDeclined" in response.url
    assert letter_ids(bus, "inventory") == letters[::2]
    entry = AuditEntry.objects.get()
    assert entry.detail["error_type"] == "PaymentDeclined"
    assert entry.detail["moved"] == 3


def test_redrive_with_nothing_ticked_explains_and_moves_nothing(
    bus, letters, client_as
):
    """An empty selection is refused with advice, not treated as 'all'."""
    client = client_as("operator")
    response = client.post(
        group_url("console:deadletter-redrive"), {"scope": "ids"}, follow=True
    )
    assert "No dead letter was ticked" in response.content.decode()
    empty_filter = client.post(
        group_url("console:deadletter-redrive"), {"scope": "filter"}, follow=True
    )
    assert "The filter is empty" in empty_filter.content.decode()
    assert letter_ids(bus, "inventory") == letters
    assert not AuditEntry.objects.exists()


def test_purge_needs_the_typed_group_name(bus, letters, client_as):
    """The first POST only shows what would go; the typed name confirms it."""
    client = client_as("operator")
    url = group_url("console:deadletter-purge")
    first = client.post(url, {"scope": "all"})
    assert first.status_code == 200
    assert "deletes <strong>6</strong> dead letter(s)" in first.content.decode()
    assert letter_ids(bus, "inventory") == letters
    wrong = client.post(url, {"scope": "all", "confirm": "1", "confirm_group": "x"})
    assert wrong.status_code == 400
    assert letter_ids(bus, "inventory") == letters
    done = client.post(
        url, {"scope": "all", "confirm": "1", "confirm_group": "inventory"}
    )
    assert done.status_code == 302
    assert letter_ids(bus, "inventory") == [] and redriven(bus) == 0
    entry = AuditEntry.objects.get(action="deadletter.purge")
    assert entry.before == {"letters": 6} and entry.after == {"letters": 0}
    assert entry.detail == {"scope": "all", "all": True, "removed": 6}


def test_purge_selected_letters_after_confirmation(bus, letters, client_as):
    """Purging ticked ids deletes only those, once confirmed."""
    client_as("operator").post(
        group_url("console:deadletter-purge"),
        {
            "scope": "ids",
            "ids": [letters[1]],
            "confirm": "1",
            "confirm_group": "inventory",
        },
    )
    assert letter_ids(bus, "inventory") == [letters[0], *letters[2:]]


def test_viewer_redrive_and_purge_are_refused_with_403(bus, letters, client_as):
    """A viewer's POSTs change nothing and write no audit entry."""
    viewer = client_as("viewer")
    redrive = viewer.post(group_url("console:deadletter-redrive"), {"scope": "all"})
    purge = viewer.post(
        group_url("console:deadletter-purge"),
        {"scope": "all", "confirm": "1", "confirm_group": "inventory"},
    )
    assert redrive.status_code == 403 and purge.status_code == 403
    assert letter_ids(bus, "inventory") == letters and redriven(bus) == 0
    assert not AuditEntry.objects.exists()


def test_redrive_and_purge_are_post_only(letters, client_as):
    """GET on the action URLs is refused (405), never acted on."""
    client = client_as("operator")
    assert client.get(group_url("console:deadletter-redrive")).status_code == 405
    assert client.get(group_url("console:deadletter-purge")).status_code == 405


def test_dead_letter_pages_with_redis_down_never_500(letters, client_as, bus_on):
    """With Redis unreachable, the index explains and the rest answer 503."""
    from tests.conftest import free_port

    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    client = client_as("operator")
    index = client.get(reverse("console:deadletters"))
    assert index.status_code == 200
    assert "Redis is unreachable" in index.content.decode()
    assert client.get(group_url()).status_code == 503
    response = client.post(group_url("console:deadletter-redrive"), {"scope": "all"})
    assert response.status_code == 503
