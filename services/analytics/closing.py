"""Publishing the windows: first closes and corrections (``window_close_due``).

Every ``analytics.window_closed`` goes out from here, through
``publish_on_commit`` in the transaction that records it in
``PublishedWindow`` (window, start, revision, figures sent). A window is
identified by (window, start); its first close is revision 1.

A correction is published only when a dirty minute (changed by an event
within ``LATENESS``, windows.py) alters the figures of a window already
published: the figures are recomputed from the tables and compared with the
ones last sent. Equal figures publish nothing, so a re-delivered event, a
replay after a group reset (``SeenOrder`` counts nothing twice) or a second
close never bumps a revision. Many late events for one window before the
next close make one correction.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction

from eventbus import publish_on_commit
from services.analytics.events import (
    ORDERS_PER_MINUTE,
    TOP_SKUS_5M,
    TOPIC,
    WINDOW_CLOSED,
)
from services.analytics.exceptions import InvalidWindowInput
from services.analytics.models import MinuteStats, PublishedWindow
from services.analytics.windows import GRACE, MINUTE, TOP_SPAN, top_skus

logger = logging.getLogger("services.analytics")


def window_close_due(*, now: datetime) -> int:
    """Publish the windows of every minute ended ``GRACE`` before ``now``.

    Two events per minute, in minute order: ``orders_per_minute`` and the
    sliding ``top_skus_5m`` ending with that minute, both revision 1. Then
    the corrections of published windows that late events changed. Returns
    how many minutes were closed; a second call closes none of them again.
    """
    if now.tzinfo is None:
        raise InvalidWindowInput(
            f"now={now!r} has no time zone; pass an aware datetime such as "
            "django.utils.timezone.now()."
        )
    cutoff = now - GRACE - MINUTE  # start of the last minute that may close
    with transaction.atomic():
        due = list(
            MinuteStats.objects.select_for_update()
            .filter(closed=False, minute__lte=cutoff)
            .order_by("minute")
        )
        for stats in due:
            start, end = stats.minute, stats.minute + MINUTE
            _publish(ORDERS_PER_MINUTE, start, end, minute_metrics(stats))
            _publish(TOP_SKUS_5M, end - TOP_SPAN, end, {"skus": top_skus(end=end)})
        MinuteStats.objects.filter(pk__in=[s.pk for s in due]).update(closed=True)
        corrected = _publish_corrections()
    if corrected:
        logger.info("Published %d window correction(s).", corrected)
    return len(due)


def minute_metrics(stats: MinuteStats) -> dict[str, Any]:
    """Return the figures of a minute's ``orders_per_minute`` window."""
    return {
        "orders": stats.orders,
        "revenue_cents": stats.revenue_cents,
        "cancellations": stats.cancellations,
        "stock_outs": stats.stock_outs,
    }


def _publish_corrections() -> int:
    """Re-publish the published windows whose figures dirty minutes changed."""
    dirty = {
        s.minute: s for s in MinuteStats.objects.select_for_update().filter(dirty=True)
    }
    if not dirty:
        return 0
    # One range query, then the exact test in Python: a Q per dirty minute
    # would grow the SQL with a backlog of late events.
    candidates = PublishedWindow.objects.filter(
        end__gt=min(dirty), end__lte=max(dirty) + TOP_SPAN
    ).values_list("pk", "window", "start", "end")
    affected = [
        pk
        for pk, window, start, end in candidates
        if (window == ORDERS_PER_MINUTE and start in dirty)
        or (window == TOP_SKUS_5M and any(start <= m < end for m in dirty))
    ]
    corrected = 0
    # Locked: two overlapping closes must not both turn revision n into n+1.
    for published in PublishedWindow.objects.select_for_update().filter(
        pk__in=affected
    ):
        if published.window == ORDERS_PER_MINUTE:
            metrics = minute_metrics(dirty[published.start])
        else:
            metrics = {"skus": top_skus(end=published.end)}
        corrected += _send(published, metrics)
    MinuteStats.objects.filter(pk__in=[s.pk for s in dirty.values()]).update(
        dirty=False
    )
    return corrected


def _publish(
    window: str, start: datetime, end: datetime, metrics: dict[str, Any]
) -> None:
    """Publish a window's first close (or a correction, if it went out before)."""
    published = (
        PublishedWindow.objects.select_for_update()
        .filter(window=window, start=start)
        .first()
    )
    _send(published or PublishedWindow(window=window, start=start, end=end), metrics)


def _send(published: PublishedWindow, metrics: dict[str, Any]) -> bool:
    """Publish the window's next revision unless it was sent with these figures."""
    if published.pk is not None:
        if published.metrics == metrics:
            return False
        published.revision += 1
    published.metrics = metrics
    published.save()
    data = {
        "window": published.window,
        "start": published.start.isoformat(),
        "end": published.end.isoformat(),
        "revision": published.revision,
        "metrics": metrics,
    }
    publish_on_commit(TOPIC, WINDOW_CLOSED, data, key=published.window)
    return True
