"""Alerts, services and catalog pages in a real browser."""

from __future__ import annotations

import pytest

from console.alerts import evaluate
from console.models import AlertRule, AuditEntry
from eventbus import (
    Outgoing,
    ResetTarget,
    create_group,
    publish_many,
    reset_group,
)
from tests.consumer_app.events import PROBE_HAPPENED, PROBE_TOPIC

pytestmark = pytest.mark.slow


@pytest.fixture
def probe(make_topic):
    make_topic(PROBE_TOPIC, partitions=2)
    create_group(PROBE_TOPIC, "watchers", start="earliest")


def test_admin_creates_a_rule_and_its_alert_shows_on_every_page(
    page, login, server, probe, screenshot
) -> None:
    """An admin fills the rule form; once the rule fires, every page shows it."""
    login(page, "admin")
    page.goto(f"{server.url}/alerts/")
    page.click("#new-rule")
    page.fill("input[name=name]", "watchers behind")
    page.fill("input[name=topic]", PROBE_TOPIC)
    page.fill("input[name=group]", "ghosts")
    page.select_option("select[name=metric]", "lag")
    page.fill("input[name=threshold]", "2")
    page.fill("input[name=for_seconds]", "0")
    page.fill("input[name=email]", "ops@example.com")
    page.click("#rule-form button[type=submit]")
    assert "No consumer group 'ghosts'" in page.inner_text(".field-error")
    screenshot(page, "alert-rule-form")
    page.fill("input[name=group]", "watchers")
    page.click("#rule-form button[type=submit]")
    page.wait_for_selector("#rules tr[data-rule='watchers behind']")
    assert "created" in page.inner_text(".messages")
    assert AlertRule.objects.get().group == "watchers"
    assert AuditEntry.objects.get().action == "alert_rule.change"

    publish_many(
        Outgoing(PROBE_TOPIC, PROBE_HAPPENED, {"seq": n}, key=str(n)) for n in range(5)
    )
    assert evaluate().fired == ["watchers behind"]
    page.reload()
    assert "watchers behind" in page.inner_text("#alerts-firing")
    assert page.inner_text("#rules td.state").startswith("firing")
    screenshot(page, "alerts")

    page.goto(f"{server.url}/catalog/")
    assert page.is_visible("#alerts-firing")
    page.wait_for_selector("tr[data-type='order.placed']")
    screenshot(page, "catalog")

    page.goto(f"{server.url}/services/")
    page.wait_for_selector("section[data-service='watchers']")
    screenshot(page, "services")


def test_an_alert_appears_and_clears_on_an_open_page_without_reload(
    page, login, server, probe, screenshot
) -> None:
    """A rule that fires while a page is open shows in its banner, pushed over
    the socket; when the alert resolves the banner goes, still without reload."""
    AlertRule.objects.create(
        name="watchers behind",
        topic=PROBE_TOPIC,
        group="watchers",
        metric="lag",
        threshold=2,
        for_seconds=0,
    )
    login(page, "viewer")
    page.goto(f"{server.url}/topics/")
    page.wait_for_selector("#live.on")
    assert not page.is_visible("#alerts-firing")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    publish_many(
        Outgoing(PROBE_TOPIC, PROBE_HAPPENED, {"seq": n}, key=str(n)) for n in range(5)
    )
    assert evaluate().fired == ["watchers behind"]
    page.wait_for_selector("#alerts-firing a.alert-firing", timeout=5_000)
    banner = page.inner_text("#alerts-firing")
    assert "watchers behind" in banner and "lag 5 > 2" in banner
    assert page.get_attribute("#alerts-firing a", "href") == "/alerts/"
    screenshot(page, "alert-live")

    reset_group(PROBE_TOPIC, "watchers", ResetTarget.latest(), dry_run=False)
    assert evaluate().resolved == ["watchers behind"]
    page.wait_for_selector("#alerts-firing", state="hidden", timeout=5_000)
    assert page.evaluate("window.sameDocument") is True


def test_viewer_sees_rules_without_edit_buttons(page, login, server, probe) -> None:
    """A viewer reads the alerts page but gets no form buttons."""
    AlertRule.objects.create(
        name="r1", topic=PROBE_TOPIC, group="watchers", metric="lag", threshold=1
    )
    login(page, "viewer")
    page.goto(f"{server.url}/alerts/")
    page.wait_for_selector("#rules tr[data-rule='r1']")
    assert page.locator("#new-rule").count() == 0
    assert page.locator("#rules button").count() == 0
