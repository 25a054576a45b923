"""Alert evaluation against a real bus: fire after the duration, resolve, notify."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail

from console.alert_tasks import evaluate_alerts
from console.alerts import evaluate, firing_summary
from console.models import Alert, AlertMetric, AlertRule, AlertState
from eventbus import Outgoing, ResetTarget, create_group, publish_many, reset_group
from eventbus._dlq_letter import DeadLetter, add_dead_letter
from eventbus.deadletters import purge
from tests.conftest import free_port
from tests.consumer_app.events import PROBE_HAPPENED, PROBE_TOPIC

GROUP = "watchers"
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


class Hook:
    """A real HTTP server in a thread that records the JSON POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []
        self.fail = False
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if hook.fail:
                    self.send_response(503)
                else:
                    hook.received.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    server = Hook()
    yield server
    server.close()


@pytest.fixture
def probe(make_topic):
    """The probe topic (2 partitions) with group 'watchers' at the start."""
    make_topic(PROBE_TOPIC, partitions=2)
    create_group(PROBE_TOPIC, GROUP, start="earliest")


def publish(count: int) -> None:
    publish_many(
        Outgoing(PROBE_TOPIC, PROBE_HAPPENED, {"seq": n}, key=f"k{n}")
        for n in range(count)
    )


def make_rule(hook: Hook | None = None, **fields: object) -> AlertRule:
    values = {
        "name": "watchers behind",
        "topic": PROBE_TOPIC,
        "group": GROUP,
        "metric": AlertMetric.LAG,
        "threshold": 5,
        "for_seconds": 30,
        "email": "ops@example.com, oncall@example.com",
        "webhook_url": hook.url if hook else "",
        **fields,
    }
    return AlertRule.objects.create(**values)


def test_lag_above_threshold_fires_once_after_the_duration_then_resolves(probe, hook):
    """Lag above the threshold fires one alert after for_seconds, notifies by
    email and webhook, never fires twice, and resolves (and says so) when the
    lag clears."""
    rule = make_rule(hook)
    publish(8)

    first = evaluate(now=T0)
    assert first.fired == [] and Alert.objects.count() == 0
    rule.refresh_from_db()
    assert rule.pending_since == T0 and rule.last_value == 8

    evaluate(now=T0 + timedelta(seconds=29))
    assert Alert.objects.count() == 0, "fired before the condition held 30 s"

    fired = evaluate(now=T0 + timedelta(seconds=30))
    assert fired.fired == ["watchers behind"]
    alert = Alert.objects.get()
    assert (alert.state, alert.value_at_fire) == (AlertState.FIRING, 8)
    assert alert.fired_email_sent and alert.fired_webhook_sent
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.com", "oncall@example.com"]
    assert "FIRING: watchers behind" in mail.outbox[0].subject
    assert [m["status"] for m in hook.received] == ["firing"]
    assert hook.received[0]["rule"] == "watchers behind"
    assert hook.received[0]["value_at_fire"] == 8
    assert firing_summary()[0]["rule"] == "watchers behind"

    publish(2)
    again = evaluate(now=T0 + timedelta(seconds=60))
    assert again.fired == [] and Alert.objects.count() == 1
    assert Alert.objects.get().last_value == 10
    assert len(mail.outbox) == 1 and len(hook.received) == 1

    reset_group(PROBE_TOPIC, GROUP, ResetTarget.latest(), dry_run=False)
    cleared = evaluate(now=T0 + timedelta(seconds=70))
    assert cleared.resolved == ["watchers behind"]
    alert.refresh_from_db()
    assert alert.state == AlertState.RESOLVED
    assert alert.resolved_at == T0 + timedelta(seconds=70)
    assert alert.resolved_email_sent and alert.resolved_webhook_sent
    assert "RESOLVED: watchers behind" in mail.outbox[1].subject
    assert [m["status"] for m in hook.received] == ["firing", "resolved"]
    assert firing_summary() == []


def test_a_dip_below_the_threshold_restarts_the_duration(probe):
    """The condition must hold without a break: a dip restarts the clock."""
    make_rule(email="")
    publish(8)
    evaluate(now=T0)
    reset_group(PROBE_TOPIC, GROUP, ResetTarget.latest(), dry_run=False)
    evaluate(now=T0 + timedelta(seconds=20))
    reset_group(PROBE_TOPIC, GROUP, ResetTarget.earliest(), dry_run=False)
    evaluate(now=T0 + timedelta(seconds=40))
    assert Alert.objects.count() == 0
    evaluate(now=T0 + timedelta(seconds=70))
    assert Alert.objects.filter(state=AlertState.FIRING).count() == 1


def test_time_lag_rule_fires_on_the_age_of_the_oldest_unprocessed_event(probe):
    """A time-lag rule compares the oldest unprocessed event's age in seconds."""
    make_rule(metric=AlertMetric.TIME_LAG, threshold=3600, for_seconds=0, email="")
    publish(1)
    assert evaluate(now=T0).fired == []  # the event is seconds old
    AlertRule.objects.update(threshold=0)
    time.sleep(0.01)  # the oldest event is now measurably older than 0 s
    assert evaluate(now=T0).fired == ["watchers behind"]
    assert Alert.objects.get().value_at_fire >= 0


def letter(n: int) -> DeadLetter:
    return DeadLetter(
        dlq_id=None,
        topic=PROBE_TOPIC,
        group=GROUP,
        partition=0,
        stream_id=f"{n + 1}-0",
        wire=b"{}",
        error_type="ValueError",
        error_message="boom",
        traceback="",
        attempts=3,
        first_failure_ms=1,
        last_failure_ms=2,
        dead_at_ms=3,
    )


def test_dead_letter_growth_counts_new_letters_over_the_window(probe, bus, hook):
    """Growth counts letters added within for_seconds (not the ones there
    before, not undone by a purge); it fires above the threshold and resolves
    once the window holds no more than the threshold."""
    for n in range(5):
        add_dead_letter(bus, letter(n))  # before the rule looked: not growth
    rule = make_rule(
        hook, metric=AlertMetric.DEAD_LETTER_GROWTH, threshold=2, for_seconds=60
    )
    evaluate(now=T0)
    rule.refresh_from_db()
    assert rule.last_value == 0

    for n in range(5, 7):
        add_dead_letter(bus, letter(n))
    assert evaluate(now=T0 + timedelta(seconds=10)).fired == []
    purge(
        PROBE_TOPIC, GROUP, all=True
    )  # an operator cleans up: the growth stays counted
    assert evaluate(now=T0 + timedelta(seconds=15)).fired == []
    add_dead_letter(bus, letter(7))
    result = evaluate(now=T0 + timedelta(seconds=20))
    assert result.fired == ["watchers behind"]
    assert Alert.objects.get().value_at_fire == 3
    assert hook.received[0]["metric"] == "dead_letter_growth"

    assert evaluate(now=T0 + timedelta(seconds=50)).resolved == []
    # 85 s: the window (25 s..85 s) has seen no new letter.
    assert evaluate(now=T0 + timedelta(seconds=85)).resolved == ["watchers behind"]
    rule.refresh_from_db()
    assert rule.last_value == 0


def test_redis_down_changes_nothing(probe, hook, redis_server, bus_on):
    """With Redis unreachable a round is skipped: no alert fires or resolves."""
    make_rule(hook, for_seconds=0)
    publish(8)
    evaluate(now=T0)
    alert = Alert.objects.get()
    rule = AlertRule.objects.get()
    server = redis_server()
    server.kill()
    bus_on(server.url)

    result = evaluate(now=T0 + timedelta(seconds=10))
    assert result.skipped and "Redis" in result.skipped
    alert.refresh_from_db()
    assert alert.state == AlertState.FIRING
    after = AlertRule.objects.get()
    assert (after.last_value, after.last_evaluated_at) == (
        rule.last_value,
        rule.last_evaluated_at,
    )
    assert len(hook.received) == 1


def test_a_failing_webhook_is_retried_next_round(probe, hook):
    """A webhook that fails is logged and POSTed again on the next evaluation."""
    make_rule(hook, for_seconds=0, email="")
    publish(8)
    hook.fail = True
    assert evaluate(now=T0).fired == ["watchers behind"]
    assert not Alert.objects.get().fired_webhook_sent
    hook.fail = False
    evaluate(now=T0 + timedelta(seconds=10))
    assert Alert.objects.get().fired_webhook_sent
    assert [m["status"] for m in hook.received] == ["firing"]


def test_an_unreachable_webhook_does_not_break_the_beat_task(probe, settings):
    """The beat task returns normally when the webhook host refuses."""
    settings.CONSOLE = {**settings.CONSOLE, "WEBHOOK_TIMEOUT": 0.5}
    make_rule(webhook_url=f"http://127.0.0.1:{free_port()}/x", for_seconds=0)
    publish(8)
    outcome = evaluate_alerts()
    assert outcome["fired"] == ["watchers behind"]
    assert not Alert.objects.get().fired_webhook_sent
    assert Alert.objects.get().fired_email_sent


def test_disabling_a_rule_resolves_its_alert(probe):
    """A disabled rule is not evaluated and its open alert resolves."""
    make_rule(for_seconds=0, email="")
    publish(8)
    evaluate(now=T0)
    AlertRule.objects.update(enabled=False)
    result = evaluate(now=T0 + timedelta(seconds=10))
    assert result.resolved == ["watchers behind"] and result.evaluated == 0
    assert Alert.objects.get().state == AlertState.RESOLVED
