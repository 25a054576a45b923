"""Send alert notifications by email and webhook; unsent ones are retried.

Each alert has one flag per (event, channel); a failure is logged and the
flag stays False, so the next evaluation tries again. Nothing here raises
out of the beat task.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q

from console.models import Alert, AlertState

logger = logging.getLogger("console.alerts")

# Unsent notifications older than this are given up (an alert from yesterday
# is news to nobody).
RETRY_FOR = timedelta(hours=24)


def webhook_timeout() -> float:
    """Return the seconds a webhook POST may take (CONSOLE["WEBHOOK_TIMEOUT"])."""
    return float(getattr(settings, "CONSOLE", {}).get("WEBHOOK_TIMEOUT", 3.0))


def deliver_pending(now: datetime) -> int:
    """Send every notification not sent yet; return how many went out."""
    unsent = Q(fired_email_sent=False) | Q(fired_webhook_sent=False)
    unsent |= Q(state=AlertState.RESOLVED) & (
        Q(resolved_email_sent=False) | Q(resolved_webhook_sent=False)
    )
    candidates = Alert.objects.filter(unsent, started_at__gte=now - RETRY_FOR)
    sent = 0
    for alert in candidates.select_related("rule"):
        sent += _deliver(alert)
    return sent


def _deliver(alert: Alert) -> int:
    rule = alert.rule
    sent = 0
    changed: list[str] = []
    events = ["fired"]
    if alert.state == AlertState.RESOLVED:
        events.append("resolved")
    for event in events:
        email_flag, hook_flag = f"{event}_email_sent", f"{event}_webhook_sent"
        channels = [
            (email_flag, rule.email, _send_email),
            (hook_flag, rule.webhook_url, _post_webhook),
        ]
        for flag, configured, send in channels:
            if configured and not getattr(alert, flag) and send(alert, event):
                setattr(alert, flag, True)
                changed.append(flag)
                sent += 1
    if changed:
        alert.save(update_fields=changed)
    return sent


def payload(alert: Alert, event: str) -> dict[str, Any]:
    """Return the JSON body a webhook receives for ``event`` (fired/resolved)."""
    rule = alert.rule
    return {
        "status": "firing" if event == "fired" else "resolved",
        "alert_id": alert.pk,
        "rule": rule.name,
        "topic": rule.topic,
        "group": rule.group,
        "metric": rule.metric,
        "threshold": rule.threshold,
        "for_seconds": rule.for_seconds,
        "value_at_fire": alert.value_at_fire,
        "last_value": alert.last_value,
        "started_at": alert.started_at.isoformat(),
        "resolved_at": alert.resolved_at.isoformat() if alert.resolved_at else None,
    }


def _send_email(alert: Alert, event: str) -> bool:
    rule = alert.rule
    recipients = [a.strip() for a in rule.email.split(",") if a.strip()]
    if not recipients:
        return True
    if event == "fired":
        subject = f"[Switchyard] FIRING: {rule.name}"
        body = (
            f"Alert rule '{rule.name}' fired at {alert.started_at:%Y-%m-%d %H:%M:%S}"
            f" UTC.\n\n{rule.get_metric_display()} of group '{rule.group}' on "
            f"topic '{rule.topic}' is {alert.value_at_fire:g}, above the threshold "
            f"{rule.threshold:g}.\n"
        )
    else:
        subject = f"[Switchyard] RESOLVED: {rule.name}"
        resolved = alert.resolved_at or alert.started_at
        last = "unknown" if alert.last_value is None else f"{alert.last_value:g}"
        body = (
            f"Alert rule '{rule.name}' resolved at {resolved:%Y-%m-%d %H:%M:%S} UTC"
            f" (last value {last}, threshold {rule.threshold:g}).\n"
        )
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:  # any mail backend failure: retried next evaluation
        logger.exception("Could not email alert %r (%s); will retry.", rule.name, event)
        return False
    return True


def _post_webhook(alert: Alert, event: str) -> bool:
    url = alert.rule.webhook_url
    request = urllib.request.Request(
        url,
        data=json.dumps(payload(alert, event)).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "switchyard"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=webhook_timeout()) as response:  # noqa: S310
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
        logger.warning(
            "Webhook %s for alert %r (%s) failed: %s; will retry.",
            url,
            alert.rule.name,
            event,
            exc,
        )
        return False
    if not ok:
        logger.warning("Webhook %s answered %s; will retry.", url, response.status)
    return ok
