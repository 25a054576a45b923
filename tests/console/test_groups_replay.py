"""The console's replay form: a bounded group and the worker command to run it."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from console.models import AuditEntry
from eventbus import group_until, publish
from eventbus.streams import server_ms
from tests.consumer_app.events import PROBE_HAPPENED, PROBE_TOPIC


@pytest.fixture
def probe(bus, make_topic):
    """The test handlers' topic: groups probe-a and probe-b subscribe to it."""
    make_topic(PROBE_TOPIC, partitions=2)
    return bus


def probes(count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        publish(PROBE_TOPIC, PROBE_HAPPENED, {"seq": n}, key=f"k{n}")


def test_replay_form_offers_the_topics_handler_groups(probe, client_as):
    """The form lists the groups whose handlers a replay worker can run."""
    url = reverse("console:group-replay", args=[PROBE_TOPIC])
    response = client_as("operator").get(url)
    assert response.context["handler_groups"] == ["probe-a", "probe-b"]
    html = response.content.decode()
    assert '<option value="probe-a">' in html
    assert "cannot stop" not in html


def test_replay_stores_the_end_and_names_the_exact_worker_command(probe, client_as):
    """Posting a range creates the group with its end bound in the bus, and the
    message gives the command that runs the chosen handlers as that group."""
    probes(3)
    time.sleep(0.01)
    start = server_ms(probe)
    time.sleep(0.01)
    end = server_ms(probe)  # nothing inside the range
    time.sleep(0.01)
    probes(2, start=10)
    url = reverse("console:group-replay", args=[PROBE_TOPIC])
    response = client_as("operator").post(
        url,
        {
            "group": "replay-2",
            "start": str(start),
            "end": str(end),
            "handlers": "probe-a",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert group_until(PROBE_TOPIC, "replay-2") == end
    html = response.content.decode()
    assert "celery -A config worker -n replay-2@%h --bus-group replay-2=probe-a" in html
    entry = AuditEntry.objects.get(action="group.replay")
    assert entry.detail == {"start_ms": start, "end_ms": end, "handlers": "probe-a"}
    # The group page shows the bound; every partition is done: the end has
    # passed and no event lies inside the range.
    replay = response.context["replay"]
    assert replay["until_ms"] == end and replay["done"] is True
    assert [p["done"] for p in replay["partitions"]] == [True, True]
    assert [p["remaining"] for p in replay["partitions"]] == ["0", "0"]
    assert 'id="replay-range"' in html and "in progress" not in html


def test_replay_refuses_handlers_that_do_not_read_the_topic(probe, client_as):
    """Only a group subscribed to the topic can be named for the worker command."""
    url = reverse("console:group-replay", args=[PROBE_TOPIC])
    response = client_as("operator").post(
        url, {"group": "replay-3", "start": "1000", "handlers": "inventory"}
    )
    assert response.status_code == 400
    assert "No handlers of group &#x27;inventory&#x27;" in response.content.decode()
    assert group_until(PROBE_TOPIC, "replay-3") is None
    assert not AuditEntry.objects.exists()


def test_a_group_without_an_end_has_no_replay_card(probe, client_as):
    """Without an end the message still names the command; no range is shown."""
    url = reverse("console:group-replay", args=[PROBE_TOPIC])
    response = client_as("operator").post(
        url, {"group": "replay-4", "start": "1000"}, follow=True
    )
    assert response.context["replay"] is None
    assert "--bus-group replay-4=&lt;service&gt;" in response.content.decode()
