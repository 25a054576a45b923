"""Groups over HTTP: lag, resets (dry run first, 409 when stale), dead letters."""

from __future__ import annotations

import pytest
import redis

from console.models import AuditEntry
from eventbus.keys import dead_letter_key, redrive_key, stream_key
from tests.api.conftest import assert_problem, dead_letter, place

GROUP = "/api/v1/topics/gadgets/groups/shipping"
RESET = f"{GROUP}/reset"
LETTERS = f"{GROUP}/dead-letters"


def positions(client: redis.Redis) -> dict[int, str]:
    """Return the group's last-delivered id per partition, straight from Redis."""
    found = {}
    for p in range(4):
        for row in client.xinfo_groups(stream_key("gadgets", p)):
            if row["name"] in (b"shipping", "shipping"):
                value = row["last-delivered-id"]
                found[p] = value.decode() if isinstance(value, bytes) else value
    return found


@pytest.fixture
def manager(api_as):
    return api_as("manage:gadgets", name="ops-bot")


def test_a_group_shows_its_lag_per_partition(topics, group, api_as):
    """Backlog per partition counts the events after the group's position."""
    published = [place(n) for n in range(6)]
    body = api_as("subscribe:gadgets").get(GROUP).json()
    assert body["backlog"] == 6 and body["pending"] == 0
    expected = {p: 0 for p in range(4)}
    for item in published:
        expected[item.position.partition] += 1
    assert {p["partition"]: p["backlog"] for p in body["partitions"]} == expected


def test_a_reset_is_a_dry_run_unless_asked(topics, group, manager):
    """The default previews per partition what would be delivered; nothing moves."""
    for n in range(5):
        place(n)
    before = positions(topics)
    response = manager.post(RESET, {"mode": "latest"})
    assert response.status_code == 200, response.content
    plan = response.json()
    assert plan["dry_run"] is True and plan["applied"] is False
    assert plan["to_deliver"] == 0
    assert sum(-p["change"] for p in plan["partitions"]) == 5
    assert positions(topics) == before
    assert not AuditEntry.objects.exists()


def test_applying_a_reset_moves_the_group_and_audits_it(topics, group, manager):
    """dry_run=false applies the plan and records it in the audit log as 'api'."""
    published = [place(n) for n in range(4)]
    preview = manager.post(RESET, {"mode": "latest"}).json()
    response = manager.post(
        RESET,
        {
            "mode": "latest",
            "dry_run": False,
            "expected_fingerprint": preview["fingerprint"],
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["applied"] is True
    moved = positions(topics)
    for item in published:
        assert moved[item.position.partition] >= item.position.stream_id
    entry = AuditEntry.objects.get()
    assert (entry.via, entry.action, entry.target) == (
        "api",
        "group.reset",
        "gadgets / shipping",
    )
    assert "ops-bot" in entry.detail["caller"]
    assert entry.after == {str(p): moved[p] for p in range(4)}


def test_a_stale_reset_is_409_and_changes_nothing(topics, group, manager):
    """Positions that moved since the dry run make the apply refuse."""
    for n in range(3):
        place(n)
    preview = manager.post(RESET, {"mode": "earliest"}).json()
    manager.post(RESET, {"mode": "latest", "dry_run": False})  # someone else moved it
    moved = positions(topics)
    response = manager.post(
        RESET,
        {
            "mode": "earliest",
            "dry_run": False,
            "expected_fingerprint": preview["fingerprint"],
        },
    )
    body = assert_problem(response, 409, "reset-stale")
    assert preview["fingerprint"] in body["detail"]
    assert positions(topics) == moved


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mode": "sideways"}, "mode"),
        ({"mode": "ago", "value": "a while"}, "value"),
        ({"mode": "time", "value": "yesterday-ish"}, "value"),
        ({"mode": "shift", "value": "many"}, "value"),
        ({"mode": "id", "value": "1-0"}, "partitions"),
        ({"mode": "id", "value": "1-0", "partitions": [0]}, "value"),
        ({"mode": "earliest", "partitions": [7]}, "partitions"),
        ({"mode": "earliest", "dry_run": "perhaps"}, "dry_run"),
        # Past Redis's 64-bit stream ids: refused here, not a Redis error (500).
        (
            {"mode": "id", "value": "99999999999999999999999-0", "partitions": [0]},
            "value",
        ),
        ({"mode": "id", "value": "1-18446744073709551616", "partitions": [0]}, "value"),
        ({"mode": "time", "value": "18446744073709551616"}, "value"),
        ({"mode": "ago", "value": "300000000d"}, None),
    ],
)
def test_bad_resets_are_422_naming_the_field(topics, group, manager, body, field):
    if field is None:  # accepted: a duration longer than the epoch means 0 ms
        assert manager.post(RESET, body).status_code == 200
        return
    assert field in assert_problem(manager.post(RESET, body), 422)["errors"]


def test_every_reset_mode_previews(topics, group, manager):
    """earliest, latest, time, ago, id, shift and group all resolve to a plan."""
    published = [place(n) for n in range(4)]
    first = published[0].position
    on_first = sum(p.position.partition == first.partition for p in published)
    non_empty = len({p.position.partition for p in published})
    manager.post(RESET, {"mode": "latest", "dry_run": False})
    cases = [
        ({"mode": "earliest"}, 4),
        ({"mode": "latest"}, 0),
        ({"mode": "time", "value": str(first.ms)}, 4),
        ({"mode": "ago", "value": "1h"}, 4),
        (
            {"mode": "id", "value": first.stream_id, "partitions": [first.partition]},
            on_first,
        ),
        ({"mode": "shift", "value": "-1"}, non_empty),
    ]
    for body, to_deliver in cases:
        response = manager.post(RESET, body)
        assert response.status_code == 200, (body, response.content)
        assert response.json()["to_deliver"] == to_deliver, body
    assert_problem(manager.post(RESET, {"mode": "group", "value": "nobody"}), 404)


def test_resetting_an_unknown_group_is_404(topics, manager):
    response = manager.post(
        "/api/v1/topics/gadgets/groups/nobody/reset", {"mode": "latest"}
    )
    assert_problem(response, 404, "not-found")


def test_dead_letters_are_listed_newest_first_and_paged(topics, group, manager):
    ids = [dead_letter(topics, place(n), "shipping") for n in range(5)]
    first = manager.get(LETTERS, {"limit": 2}).json()
    assert first["total"] == 5
    assert [x["id"] for x in first["dead_letters"]] == ids[::-1][:2]
    seen = [x["id"] for x in first["dead_letters"]]
    cursor = first["next_cursor"]
    while cursor:
        page = manager.get(LETTERS, {"limit": 2, "cursor": cursor}).json()
        seen += [x["id"] for x in page["dead_letters"]]
        cursor = page["next_cursor"]
    assert seen == ids[::-1]
    oldest = manager.get(LETTERS, {"order": "oldest", "limit": 1}).json()
    assert oldest["dead_letters"][0]["id"] == ids[0]
    none = manager.get(LETTERS, {"type": "gadget.scrapped"}).json()
    assert none["dead_letters"] == []


def test_one_dead_letter_shows_error_traceback_and_event(topics, group, manager):
    published = place(3)
    letter = dead_letter(topics, published, "shipping")
    body = manager.get(f"{LETTERS}/{letter}").json()
    assert body["error_type"] == "ValueError"
    assert "no stock" in body["error_message"] and "Traceback" in body["traceback"]
    assert body["event"]["id"] == published.event_id and body["raw"] is None
    assert body["stream_id"] == published.position.stream_id


def test_redriving_by_id_moves_only_those_letters_and_audits(topics, group, manager):
    ids = [dead_letter(topics, place(n), "shipping") for n in range(3)]
    response = manager.post(f"{LETTERS}/redrive", {"ids": ids[:2]})
    assert response.status_code == 200, response.content
    assert response.json() == {"redriven": 2, "dry_run": False, "remaining": 1}
    assert topics.xlen(redrive_key("gadgets", "shipping")) == 2
    assert topics.xlen(dead_letter_key("gadgets", "shipping")) == 1
    entry = AuditEntry.objects.get()
    assert (entry.via, entry.action, entry.detail["moved"]) == (
        "api",
        "deadletter.redrive",
        2,
    )


def test_a_redrive_dry_run_counts_and_moves_nothing(topics, group, manager):
    for n in range(3):
        dead_letter(topics, place(n), "shipping")
    response = manager.post(f"{LETTERS}/redrive", {"all": True, "dry_run": True})
    assert response.json() == {"redriven": 3, "dry_run": True, "remaining": 3}
    assert topics.xlen(dead_letter_key("gadgets", "shipping")) == 3
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ids": ["1-0"], "all": True},
        {"ids": ["not-an-id"]},
        {"ids": []},
        {"ids": ["99999999999999999999999-0"]},
    ],
    ids=["nothing", "two-ways", "bad-id", "empty-ids", "id-past-64-bits"],
)
def test_a_redrive_must_name_letters_one_valid_way(topics, group, manager, body):
    dead_letter(topics, place(1), "shipping")
    assert_problem(manager.post(f"{LETTERS}/redrive", body), 422)
    assert topics.xlen(dead_letter_key("gadgets", "shipping")) == 1
