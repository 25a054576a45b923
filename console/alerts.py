"""Alert rules: evaluate them against the bus, fire, resolve and notify.

``evaluate()`` runs every 10 s from the beat task (console.alert_tasks). It
reads every enabled rule's value first and changes nothing when Redis does
not answer: an outage must not resolve (or fire) every alert at once.
Lag rules fire once the value has stayed above the threshold for
``for_seconds``; dead-letter growth rules count the letters added over the
last ``for_seconds`` and fire as soon as that count is above the threshold.
Alerts resolve by themselves when the condition clears.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis
from django.db import IntegrityError, transaction
from django.utils import timezone

from console.alert_notify import deliver_pending
from console.models import Alert, AlertMetric, AlertRule, AlertState
from eventbus import count_dead_letters, group_lag
from eventbus.exceptions import BusUnavailable, GroupError, TopicError

logger = logging.getLogger("console.alerts")

# Samples kept per dead-letter growth rule, whatever its window: at one
# evaluation every 10 s this covers almost three hours.
MAX_SAMPLES = 1000


@dataclass
class Evaluation:
    """What one evaluation round did."""

    evaluated: int = 0
    fired: list[str] = field(default_factory=list)
    resolved: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    skipped: str | None = None  # why the round changed nothing
    notified: int = 0


def evaluate(now: datetime | None = None) -> Evaluation:
    """Evaluate every rule once: fire, resolve, then send what is unsent."""
    now = now or timezone.now()
    result = Evaluation()
    rules = list(AlertRule.objects.all())
    values: dict[int, float | None] = {}
    try:
        for rule in rules:
            if rule.enabled:
                values[rule.pk] = read_value(rule, now=now)
    except (BusUnavailable, redis.ConnectionError, redis.TimeoutError) as exc:
        result.skipped = f"Redis is unreachable, alert states left unchanged: {exc}"
        logger.warning("Alert evaluation skipped: %s", result.skipped)
    else:
        for rule in rules:
            _apply(rule, values.get(rule.pk), now, result)
    result.notified = deliver_pending(now)
    return result


def read_value(rule: AlertRule, *, now: datetime) -> float | None:
    """Return the rule's current value, or None when the bus cannot tell."""
    try:
        if rule.metric == AlertMetric.DEAD_LETTER_GROWTH:
            counts = count_dead_letters(rule.topic, rule.group)
            return float(_growth(rule, counts.get((rule.topic, rule.group), 0), now))
        lag = group_lag(rule.topic, rule.group)
    except (TopicError, GroupError) as exc:
        # The topic or group went away after the rule was saved: say so in
        # the log and leave the rule's alert as it is.
        logger.warning("Alert rule %r cannot be evaluated: %s", rule.name, exc)
        return None
    if rule.metric == AlertMetric.TIME_LAG:
        return None if lag.time_lag_ms is None else lag.time_lag_ms / 1000
    return None if lag.backlog is None else float(lag.backlog)


def _growth(rule: AlertRule, count: int, now: datetime) -> int:
    # The letter count drops on redrive and purge, so only increases are
    # accumulated ("added so far"); growth is added now minus added at the
    # start of the window. Letters present before the first look don't count.
    now_s = now.timestamp()
    samples: list[list[float]] = [list(s) for s in rule.dl_samples or []]
    added = samples[-1][1] if samples else 0
    if rule.dl_last_count is not None and count > rule.dl_last_count:
        added += count - rule.dl_last_count
    rule.dl_last_count = count
    samples.append([now_s, added])
    cutoff = now_s - rule.for_seconds
    older = [s for s in samples if s[0] <= cutoff]
    kept = ([older[-1]] if older else []) + [s for s in samples if s[0] > cutoff]
    rule.dl_samples = kept[-MAX_SAMPLES:]
    return int(added - rule.dl_samples[0][1])


def _apply(
    rule: AlertRule, value: float | None, now: datetime, result: Evaluation
) -> None:
    open_alert = rule.alerts.filter(state=AlertState.FIRING).first()
    if not rule.enabled:
        if rule.pending_since is not None or rule.dl_last_count is not None:
            # Start afresh when re-enabled: what happened meanwhile is unwatched.
            rule.pending_since, rule.dl_last_count, rule.dl_samples = None, None, []
            rule.save(update_fields=["pending_since", "dl_last_count", "dl_samples"])
        if open_alert is not None:
            _resolve(open_alert, None, now, result)
        return
    result.evaluated += 1
    rule.last_value = value
    rule.last_evaluated_at = now
    if value is None:
        result.unknown.append(rule.name)  # unknown is not "below the threshold"
    elif value > rule.threshold:
        if open_alert is not None:
            open_alert.last_value = value
            open_alert.save(update_fields=["last_value"])
        else:
            if rule.pending_since is None:
                rule.pending_since = now
            held = now - rule.pending_since >= timedelta(seconds=rule.for_seconds)
            if rule.metric == AlertMetric.DEAD_LETTER_GROWTH or held:
                _fire(rule, value, now, result)
    else:
        rule.pending_since = None
        if open_alert is not None:
            _resolve(open_alert, value, now, result)
    rule.save(
        update_fields=[
            "last_value",
            "last_evaluated_at",
            "pending_since",
            "dl_last_count",
            "dl_samples",
        ]
    )


def _fire(rule: AlertRule, value: float, now: datetime, result: Evaluation) -> None:
    try:
        with transaction.atomic():
            Alert.objects.create(
                rule=rule, started_at=now, value_at_fire=value, last_value=value
            )
    except IntegrityError:
        # Another evaluator fired it first (one firing alert per rule).
        return
    rule.pending_since = None
    result.fired.append(rule.name)
    logger.warning(
        "Alert %r fired: %s of %s/%s is %s (threshold %s).",
        rule.name,
        rule.metric,
        rule.topic,
        rule.group,
        value,
        rule.threshold,
    )


def _resolve(
    alert: Alert, value: float | None, now: datetime, result: Evaluation
) -> None:
    alert.state = AlertState.RESOLVED
    alert.resolved_at = now
    if value is not None:
        alert.last_value = value
    alert.save(update_fields=["state", "resolved_at", "last_value"])
    result.resolved.append(alert.rule.name)
    logger.info("Alert %r resolved.", alert.rule.name)


def firing_summary() -> list[dict[str, Any]]:
    """Return the firing alerts, oldest first, as JSON-ready dicts."""
    alerts = (
        Alert.objects.filter(state=AlertState.FIRING)
        .select_related("rule")
        .order_by("started_at", "id")
    )
    return [
        {
            "id": alert.pk,
            "rule": alert.rule.name,
            "topic": alert.rule.topic,
            "group": alert.rule.group,
            "metric": alert.rule.metric,
            "threshold": alert.rule.threshold,
            "value": alert.last_value,
            "since": alert.started_at.isoformat(),
        }
        for alert in alerts
    ]
