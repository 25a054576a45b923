"""Celery beat task: evaluate the alert rules (a thin adapter over console.alerts)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("console.alerts")


@shared_task(name="console.evaluate_alerts", ignore_result=True)
def evaluate_alerts() -> dict[str, object]:
    """Evaluate every alert rule once; never raise into the beat schedule."""
    from console.alerts import evaluate

    try:
        result = evaluate()
    except Exception:
        # A bug must not stop the next rounds; the log says what broke.
        logger.exception("Alert evaluation failed; trying again next round.")
        return {"error": True}
    return {
        "fired": result.fired,
        "resolved": result.resolved,
        "skipped": result.skipped,
        "notified": result.notified,
    }
