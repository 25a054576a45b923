"""The services page: Celery workers, bus members and their partitions, counters."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.urls import reverse

from console.service_status import services_status
from eventbus import create_group
from tests.consumer_app.events import PROBE_TOPIC
from tests.eventbus.consumer_helpers import handled, publish_probes, wait_until
from tests.processes import CeleryWorker

GROUP = "probe-a"  # handled by tests.consumer_app's probe_a


@pytest.fixture
def probe(make_topic, settings):
    settings.CONSOLE = {**settings.CONSOLE, "INSPECT_TIMEOUT": 0.3}
    make_topic(PROBE_TOPIC, partitions=2)
    create_group(PROBE_TOPIC, GROUP, start="earliest")


def test_without_workers_the_page_says_none_answered(probe, client_as):
    """No Celery worker running: the page says none answered, quickly."""
    started = time.monotonic()
    response = client_as("viewer").get(reverse("console:services"))
    assert time.monotonic() - started < 3
    assert response.status_code == 200
    page = response.content.decode()
    assert "No worker answered within 0.3 s" in page
    assert 'data-service="probe-a"' in page
    assert "No live member" in page


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_running_worker_is_listed_with_its_partitions_and_counts(
    probe, bus, client_as, tmp_path: Path, settings
):
    """A real `celery worker -n probe-a@… --bus-group probe-a` is listed under
    its service with its pid, the partitions it holds and what it handled."""
    # A busy two-core box can take longer than 0.3 s to answer a broadcast.
    settings.CONSOLE = {**settings.CONSOLE, "INSPECT_TIMEOUT": 2.0}
    worker = CeleryWorker(
        GROUP, GROUP, tmp_path, BUS_LEASE_MS="3000", BUS_HEARTBEAT_SECONDS="0.3"
    ).start()
    try:
        worker.wait_joined(bus)
        publish_probes(6, keys=3)
        wait_until(lambda: len(handled(GROUP)) == 6, what="6 probes handled")

        def listed() -> bool:
            status = services_status()
            service = next(s for s in status.services if s.name == GROUP)
            held = [s for m in service.members for s in m.sources]
            return (
                bool(service.workers)
                and len(held) == 3
                and (service.topics[0].processed == 6)
            )

        wait_until(listed, what="worker, members and counters listed")
        page = client_as("viewer").get(reverse("console:services")).content.decode()
        section = page.split('data-service="probe-a"', 1)[1].split("</section>", 1)[0]
        workers = section.split('class="workers"', 1)[1].split("</table>", 1)[0]
        assert '<td class="mono">probe-a@' in workers
        assert f'<td class="num">{worker.pid}</td>' in workers
        members = section.split('class="members"', 1)[1].split("</table>", 1)[0]
        assert f"-{worker.pid}-" in members and "probe-a@" in members
        assert "probe/0" in section and "probe/1" in section
        assert "probe/redrive" in section
        counters = section.split('class="counters"', 1)[1]
        assert '<td class="num">6</td>' in counters
        assert "No worker answered" not in page
    finally:
        worker.kill()
