"""Topics pages in a real browser: publish a test event, find it, open it."""

from __future__ import annotations

import json
import re

import pytest

from eventbus import publish

pytestmark = pytest.mark.slow

TOPIC = "orders"  # declared by services/checkout, known to the Daphne process


def cancelled(n: int) -> dict[str, str]:
    return {"order_id": f"o-{n}", "customer_id": f"c-{n % 3}", "reason": "changed mind"}


def test_operator_publishes_a_test_event_and_opens_it(
    page, server, login, make_topic, screenshot
) -> None:
    """An operator publishes from the form, finds the event in the browser, opens it."""
    make_topic(TOPIC, partitions=8, owner="checkout", retention_ms=7 * 86_400_000)
    make_topic("payments", partitions=2)
    for n in range(12):
        publish(TOPIC, "order.cancelled", cancelled(n), key=f"o-{n}", subject=f"o-{n}")
    login(page, "operator")

    page.goto(f"{server.url}/topics/")
    row = page.locator(f'tr[data-topic="{TOPIC}"]')
    assert row.locator("td.length").inner_text() == "12"
    screenshot(page, "topics")

    row.locator("a", has_text=TOPIC).click()
    page.wait_for_selector("#partitions table")
    assert page.locator("#events tbody tr").count() == 12
    screenshot(page, "topic-detail")

    page.click("#publish-link")
    page.select_option("select[name=type]", "order.cancelled")
    page.fill("input[name=key]", "e2e-key")
    page.fill("input[name=subject]", "e2e-order")
    # Missing "reason": the schema error shows at the data field.
    page.fill(
        "textarea[name=data]", json.dumps({"order_id": "e2e", "customer_id": "c"})
    )
    page.click("#publish-form button[type=submit]")
    error = page.locator('.field-error[data-field="data"]')
    assert "reason" in error.inner_text()
    page.fill("textarea[name=data]", json.dumps(cancelled(99) | {"order_id": "e2e"}))
    page.click("#format-json")
    assert "reason" in page.inner_text("#schema-text")
    screenshot(page, "publish-form")
    page.click("#publish-form button[type=submit]")
    page.wait_for_url(re.compile(r"/topics/orders/events/\d+/\d+-\d+/$"))
    assert "Published order.cancelled" in page.inner_text(".messages")

    page.goto(f"{server.url}/topics/{TOPIC}/?key=e2e-key")
    rows = page.locator("#events tbody tr")
    assert rows.count() == 1
    assert "e2e-order" in rows.first.inner_text()
    rows.first.locator("a").click()
    page.wait_for_selector("#envelope")
    assert "e2e-key" in page.inner_text("#envelope")
    assert '"order_id": "e2e"' in page.inner_text("#data pre")
    screenshot(page, "event-view")
