"""The console against real Celery workers, in a real browser.

Issue 5's scenarios: a group's lag rises on the page while its worker is
stopped and falls when it restarts; an operator redrives a dead letter and
sees it processed; a viewer can do neither (refused by the server).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.consumer_app.events import PROBE_TOPIC
from tests.consumer_app.models import Handled
from tests.eventbus.consumer_helpers import publish_probes, wait_until
from tests.processes import CeleryWorker

pytestmark = pytest.mark.slow

GROUP = "probe-a"
# Sum of the live "backlog" cells of the partition rows (charts.js keeps them
# current from the pushed samples; the page is never reloaded).
BACKLOG_JS = """() => [...document.querySelectorAll(
    'tr[data-partition] td[data-field=backlog]')]
  .map(cell => parseInt(cell.textContent, 10) || 0)
  .reduce((a, b) => a + b, 0)"""


def start_worker(tmp_path: Path, bus) -> CeleryWorker:
    worker = CeleryWorker(
        GROUP, GROUP, tmp_path, BUS_LEASE_MS="3000", BUS_HEARTBEAT_SECONDS="0.3"
    ).start()
    worker.wait_joined(bus)
    return worker


@pytest.fixture
def probe_topic(make_topic):
    return make_topic(PROBE_TOPIC, partitions=2)


def test_lag_rises_while_the_worker_is_stopped_and_falls_after_restart(
    page, login, server, bus, probe_topic, tmp_path, screenshot
) -> None:
    """Stopping the group's worker makes the page's backlog climb to what was
    published and a banner name the group nobody consumes; restarting it
    brings the backlog back to 0 and the banner goes, live."""
    worker = start_worker(tmp_path, bus)
    try:
        login(page, "viewer")
        page.goto(f"{server.url}/groups/{PROBE_TOPIC}/{GROUP}/")
        page.wait_for_selector("#live.on")
        assert worker.terminate() == 0
        publish_probes(25, keys=4)
        page.wait_for_function(f"({BACKLOG_JS})() >= 25", timeout=10_000)
        page.wait_for_selector("#banner-workers", timeout=10_000)
        assert GROUP in page.inner_text("#banner-workers")
        screenshot(page, "group-lag-rising")
        worker = start_worker(tmp_path, bus)
        page.wait_for_function(f"({BACKLOG_JS})() === 0", timeout=30_000)
        page.wait_for_selector("#banner-workers", state="detached", timeout=10_000)
        screenshot(page, "group-lag-drained")
        assert Handled.objects.filter(group=GROUP).count() == 25
    finally:
        worker.kill()


def test_operator_redrives_a_dead_letter_and_sees_it_processed(
    page, login, server, bus, probe_topic, tmp_path, screenshot
) -> None:
    """A probe that fails its three attempts is dead-lettered; the operator
    ticks it and redrives it; the worker handles it (its fourth attempt
    succeeds) and the dead-letter page is empty again."""
    worker = start_worker(tmp_path, bus)
    try:
        publish_probes(1, fail=3)
        url = f"{server.url}/deadletters/{PROBE_TOPIC}/{GROUP}/"
        login(page, "operator")

        def dead_lettered() -> bool:
            page.goto(url)
            return page.locator("tr[data-id]").count() == 1

        wait_until(dead_lettered, what="the probe dead-lettered", timeout=20)
        screenshot(page, "deadletter-before-redrive")
        page.check("tr[data-id] input[name=ids]")
        page.click("button:has-text('Redrive')")
        page.wait_for_load_state()
        wait_until(
            lambda: Handled.objects.filter(group=GROUP).exists(),
            what="the redriven probe handled",
        )
        page.goto(url)
        assert page.locator("tr[data-id]").count() == 0
        assert "No dead letters." in page.inner_text("#letters")
        screenshot(page, "deadletter-after-redrive")
    finally:
        worker.kill()


def test_viewer_can_neither_redrive_nor_reset(
    page, login, server, bus, probe_topic, tmp_path
) -> None:
    """The viewer sees no redrive or reset controls, and posting the forms
    directly (with a valid CSRF token) is refused with 403."""
    worker = start_worker(tmp_path, bus)
    try:
        publish_probes(1, fail=3)
        login(page, "viewer")
        url = f"{server.url}/deadletters/{PROBE_TOPIC}/{GROUP}/"

        def dead_lettered() -> bool:
            page.goto(url)
            return page.locator("tr[data-id]").count() == 1

        wait_until(dead_lettered, what="the probe dead-lettered", timeout=20)
        assert page.locator("button:has-text('Redrive')").count() == 0
        letter = page.get_attribute("tr[data-id]", "data-id")
        csrf = next(
            c["value"] for c in page.context.cookies() if c["name"] == "csrftoken"
        )
        headers = {"X-CSRFToken": csrf, "Referer": url}
        refused = page.request.post(
            f"{url}redrive/",
            form={"scope": "ids", "ids": letter},
            headers=headers,
        )
        assert refused.status == 403
        assert "operator" in refused.text()
        reset = page.request.post(
            f"{server.url}/groups/{PROBE_TOPIC}/{GROUP}/reset/",
            form={"mode": "earliest", "action": "preview"},
            headers=headers,
        )
        assert reset.status == 403
        page.goto(f"{server.url}/groups/{PROBE_TOPIC}/{GROUP}/")
        assert page.locator("#reset button").count() == 0
        assert not Handled.objects.filter(group=GROUP).exists()
    finally:
        worker.kill()
