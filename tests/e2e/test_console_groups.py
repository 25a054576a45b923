"""Consumer groups, dead letters and the audit log in a real browser."""

from __future__ import annotations

import re

import pytest

from console.models import AuditEntry
from eventbus import create_group
from tests.console.groups_helpers import (
    TOPIC,
    PaymentDeclined,
    dead_letter,
    group_at,
    orders_read_by,
    positions,
)
from tests.consumer_app.events import PROBE_TOPIC
from tests.eventbus.consumer_helpers import (
    handled,
    publish_probes,
    running,
    wait_until,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def data(bus, make_topic):
    """Two partitions, ten events, 'inventory' at latest, two dead letters."""
    published = orders_read_by(make_topic, count=10, start="latest")
    group_at("shipping", start="earliest")
    dead_letter(bus, published[0], "inventory", ValueError("no stock for sku-0"))
    dead_letter(bus, published[1], "inventory", PaymentDeclined("card declined"))
    return published


def test_operator_previews_then_confirms_a_reset(
    page, server, login, screenshot, data, bus
):
    """The dry run is shown first; only Confirm moves the group, and it is audited."""
    login(page, "operator")
    page.goto(f"{server.url}/groups/")
    page.wait_for_selector('tr[data-group="inventory"]')
    screenshot(page, "groups")
    page.click(f'a[href="/groups/{TOPIC}/inventory/"]')
    page.wait_for_selector("table.partitions")
    screenshot(page, "group-detail")
    before = positions(bus, "inventory")
    page.select_option("#reset-mode", "earliest")
    page.click("text=Preview reset")
    page.wait_for_selector("#reset-preview")
    assert "Dry run: reset to earliest" in page.inner_text("#reset-preview")
    assert positions(bus, "inventory") == before  # preview changed nothing
    screenshot(page, "reset-preview")
    page.click("#confirm-reset")
    page.wait_for_url(re.compile(rf"/groups/{TOPIC}/inventory/$"))
    assert "Reset inventory" in page.inner_text(".messages")
    assert positions(bus, "inventory") == {0: "0-0", 1: "0-0"}
    assert AuditEntry.objects.filter(action="group.reset").count() == 1
    page.goto(f"{server.url}/deadletters/{TOPIC}/inventory/")
    page.wait_for_selector("tr[data-id]")
    screenshot(page, "deadletters")
    page.click("tr[data-id] td.mono a")
    page.wait_for_selector("pre.traceback")
    screenshot(page, "deadletter")
    page.click("button:has-text('Purge…')")
    page.wait_for_selector("#purge-confirm")
    assert "Type the group name" in page.inner_text("#purge-confirm")
    screenshot(page, "deadletter-purge-confirm")  # not confirmed: nothing purged
    page.goto(f"{server.url}/audit/")
    assert "group.reset" in page.inner_text("table.audit")
    screenshot(page, "audit")
    page.goto(f"{server.url}/groups/")
    page.click(f'a[href="/groups/{TOPIC}/replay/"]')
    page.wait_for_selector("button:has-text('Create replay group')")
    screenshot(page, "group-replay")


def test_viewer_sees_no_reset_button_and_a_direct_post_is_refused(
    page, server, login, data, bus, screenshot
):
    """The form is hidden from a viewer, and the server refuses its POST (403);
    opening the replay form's URL gives a 403 page naming the role needed."""
    login(page, "viewer")
    page.goto(f"{server.url}/groups/{TOPIC}/inventory/")
    page.wait_for_selector("table.partitions")
    assert page.locator("text=Preview reset").count() == 0
    before = positions(bus, "inventory")
    token = page.context.cookies()
    csrf = next(c["value"] for c in token if c["name"] == "csrftoken")
    response = page.request.post(
        f"{server.url}/groups/{TOPIC}/inventory/reset/",
        form={"action": "preview", "mode": "earliest"},
        headers={"X-CSRFToken": csrf, "Referer": f"{server.url}/"},
    )
    assert response.status == 403
    assert positions(bus, "inventory") == before
    assert not AuditEntry.objects.exists()
    refused = page.goto(f"{server.url}/groups/{TOPIC}/replay/")
    assert refused.status == 403
    assert "needs the operator role" in page.inner_text(".error")
    screenshot(page, "forbidden")


def test_partition_rows_show_their_own_processed_count_live(
    page, server, login, make_topic
):
    """While the page is open a worker consumes: each partition row's backlog
    and Processed cells count that partition's own events, live."""
    make_topic(PROBE_TOPIC, partitions=2)
    create_group(PROBE_TOPIC, "probe-a", start="earliest")
    login(page, "viewer")
    page.goto(f"{server.url}/groups/{PROBE_TOPIC}/probe-a/")
    page.wait_for_selector("#live.on")
    publish_probes(12, keys=8)  # k0-k3 hash to partition 1, k4-k7 to 0
    cell = 'tr[data-partition="{}"] [data-field="{}"]'
    page.wait_for_function(
        "([a, b]) => document.querySelector(a).textContent === '4'"
        " && document.querySelector(b).textContent === '8'",
        arg=[cell.format(0, "backlog"), cell.format(1, "backlog")],
    )
    # Drawn only from the partition's own series ("part_backlog/..."), so a
    # path means the page reads it.
    page.wait_for_selector('svg.spark[data-partition="1"] path', state="attached")
    with running("probe-a"):
        wait_until(lambda: len(handled("probe-a")) == 12, what="12 probes handled")
    page.wait_for_function(
        "([a, b]) => document.querySelector(a).textContent === '4'"
        " && document.querySelector(b).textContent === '8'",
        arg=[cell.format(0, "processed"), cell.format(1, "processed")],
    )
    assert page.inner_text(cell.format(0, "last_batch")).endswith(" UTC")
