"""Consumer group pages: lag per group and partition, owners, replay, Redis down."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from console.models import AuditEntry
from eventbus import group_until
from eventbus.keys import lease_key, stream_key
from tests.conftest import free_port
from tests.console.groups_helpers import (
    TOPIC,
    PaymentDeclined,
    dead_letter,
    declare,
    fill,
    group_at,
    orders_read_by,
    positions,
)


@pytest.fixture
def topic(bus, make_topic):
    """A two-partition topic with six events and a group that read none."""
    return orders_read_by(make_topic)


def test_groups_page_lists_each_group_with_backlog_and_dead_letters(
    bus, topic, client_as
):
    """The list shows every group's backlog, pending and dead-letter count."""
    group_at("shipping", start="latest")
    dead_letter(bus, topic[0], "inventory", PaymentDeclined("declined"))
    response = client_as("viewer").get(reverse("console:groups"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-group="inventory"' in html and 'data-group="shipping"' in html
    rows = {r["group"]: r for r in response.context["sections"][0]["rows"]}
    assert rows["inventory"]["backlog"] == "6"
    assert rows["shipping"]["backlog"] == "0"
    assert rows["inventory"]["dead"] == 1
    assert '<svg class="spark" data-topic="gorders" data-group="inventory"' in html


def test_group_page_shows_partitions_positions_owner_and_counters(
    bus, topic, client_as
):
    """Per partition: position, backlog, time lag, lease owner, spark hook."""
    bus.set(lease_key(stream_key(TOPIC, 1), "inventory"), "worker-a-1", px=60_000)
    bus.hset(
        f"{stream_key(TOPIC, 0)}:stats:inventory",
        mapping={"processed": 42, "last_ms": int(time.time() * 1000)},
    )
    url = reverse("console:group", args=[TOPIC, "inventory"])
    response = client_as("viewer").get(url)
    assert response.status_code == 200
    rows = {r["partition"]: r for r in response.context["rows"]}
    for p in (0, 1):
        held = sum(1 for x in topic if x.position.partition == p)
        assert rows[p]["backlog"] == str(held)
        assert rows[p]["position"] == "0-0"
    assert rows[1]["owner"] == "worker-a-1"
    assert rows[0]["owner"] is None
    assert rows[0]["processed"] == 42
    assert rows["redrive"]["redrive"] is True
    html = response.content.decode()
    assert 'data-partition="1"' in html and "worker-a-1" in html
    assert response.context["total_backlog"] == "6"


def test_viewer_sees_no_reset_form_but_operator_does(topic, client_as):
    """The reset form is only rendered for a user who can operate."""
    url = reverse("console:group", args=[TOPIC, "inventory"])
    assert "Preview reset" not in client_as("viewer").get(url).content.decode()
    assert "Preview reset" in client_as("operator").get(url).content.decode()


def test_unknown_group_is_a_404_naming_the_groups(topic, client_as):
    """A group that does not exist is a 404, not a 500."""
    url = reverse("console:group", args=[TOPIC, "nope"])
    assert client_as("viewer").get(url).status_code == 404


def test_replay_creates_a_fresh_group_at_the_start_and_shows_the_end(
    bus, make_topic, client_as
):
    """Replay makes a new group at the start time, bounded at the end; the page
    shows, per partition, the last event in the range and what is left."""
    declare(make_topic, partitions=1)
    early = fill(2)
    time.sleep(0.02)
    start_ms = int(time.time() * 1000)
    inside = fill(3)
    time.sleep(0.02)
    end_ms = int(time.time() * 1000)
    fill(2)
    url = reverse("console:group-replay", args=[TOPIC])
    response = client_as("operator").post(
        url, {"group": "replay-1", "start": str(start_ms), "end": str(end_ms)}
    )
    assert response.status_code == 302
    # The group's position is the last event before the start.
    assert positions(bus, "replay-1", partitions=1) == {0: early[-1].position.stream_id}
    entry = AuditEntry.objects.get(action="group.replay")
    assert entry.username == "operator" and entry.target == f"{TOPIC} / replay-1"
    assert entry.detail == {"start_ms": start_ms, "end_ms": end_ms}
    page = client_as("viewer").get(response.url)
    replay = page.context["replay"]
    assert replay["partitions"][0]["end_id"] == inside[-1].position.stream_id
    assert replay["partitions"][0]["remaining"] == "3"
    assert replay["done"] is False and replay["until_ms"] == end_ms
    assert group_until(TOPIC, "replay-1") == end_ms  # the bus holds the bound
    assert "acknowledge the later ones without handling" in page.content.decode()


def test_replay_refuses_an_existing_group_and_a_bad_range(topic, client_as):
    """Replay never moves an existing group and explains a wrong range."""
    url = reverse("console:group-replay", args=[TOPIC])
    client = client_as("operator")
    taken = client.post(url, {"group": "inventory", "start": "1000"})
    assert taken.status_code == 400 and "already exists" in taken.content.decode()
    backwards = client.post(url, {"group": "r2", "start": "5000", "end": "4000"})
    assert backwards.status_code == 400
    assert "End must be after start" in backwards.content.decode()
    assert not AuditEntry.objects.exists()


def test_viewer_cannot_replay(topic, client_as, bus):
    """A viewer's replay POST is refused with 403 and creates no group."""
    url = reverse("console:group-replay", args=[TOPIC])
    response = client_as("viewer").post(url, {"group": "r3", "start": "1000"})
    assert response.status_code == 403
    assert "r3" not in positions(bus, "r3")


def test_pages_say_redis_is_down_instead_of_failing(topic, client_as, bus_on):
    """With Redis unreachable, pages answer 200 with the problem or 503, never 500."""
    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    client = client_as("operator")
    listing = client.get(reverse("console:groups"))
    assert listing.status_code == 200
    assert "Redis is unreachable" in listing.content.decode()
    detail = client.get(reverse("console:group", args=[TOPIC, "inventory"]))
    assert detail.status_code == 503
    reset = client.post(
        reverse("console:group-reset", args=[TOPIC, "inventory"]),
        {"action": "preview", "mode": "earliest"},
    )
    assert reset.status_code == 503
    assert client.get(reverse("console:audit")).status_code == 200
