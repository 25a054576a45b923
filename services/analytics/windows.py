"""Analytics' window actions: per-minute stats, top SKUs, bought together.

These are actions (they write and publish), kept apart from ``actions.py``
(the lake) so that both stay small. Every window is keyed by EVENT time
(``placed_at`` of an order, the envelope ``time`` of a cancel or a
rejection), never by arrival time: replaying the log after a group reset
puts every event into the same minute again, and ``SeenOrder`` makes the
second pass count nothing, so the windows come out the same.

A minute closes (``window_close_due``) once its end is ``GRACE`` older than
``now``: events arriving later than that still update the tables but the
minute's ``analytics.window_closed`` is not sent again. Minutes without any
event have no row and publish nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any

from django.db import transaction
from django.db.models import F, Sum

from eventbus import publish_on_commit
from services.analytics.events import (
    ORDERS_PER_MINUTE,
    TOP_SKUS_5M,
    TOPIC,
    WINDOW_CLOSED,
)
from services.analytics.exceptions import InvalidWindowInput
from services.analytics.lake import parse_time
from services.analytics.models import BoughtTogether, MinuteStats, SeenOrder, SkuMinute

MINUTE = timedelta(minutes=1)
# How late an event may arrive and still be in its minute's closed window.
GRACE = timedelta(minutes=1)
TOP_SPAN = timedelta(minutes=5)
TOP_N = 5


def window_record_order(
    *,
    order_id: str,
    placed_at: str,
    lines: Iterable[Mapping[str, Any]],
    total_cents: int,
) -> bool:
    """Count a placed order in its minute and pairs; False if counted already."""
    minute = _minute_of(placed_at, order_id)
    qty_by_sku = _qty_by_sku(lines, order_id)
    with transaction.atomic():
        seen = _seen(order_id)
        if seen.placed:
            return False
        seen.placed = True
        seen.save(update_fields=["placed"])
        _bump_minute(minute, orders=1, revenue_cents=int(total_cents))
        for sku, qty in sorted(qty_by_sku.items()):
            row, _ = SkuMinute.objects.get_or_create(minute=minute, sku=sku)
            SkuMinute.objects.filter(pk=row.pk).update(qty=F("qty") + qty)
        for sku_a, sku_b in combinations(sorted(qty_by_sku), 2):
            pair, _ = BoughtTogether.objects.get_or_create(sku_a=sku_a, sku_b=sku_b)
            BoughtTogether.objects.filter(pk=pair.pk).update(count=F("count") + 1)
    return True


def window_record_cancel(*, order_id: str, at: str) -> bool:
    """Count an order's cancellation in the minute of ``at``; False if counted."""
    return _count_once(order_id, at, flag="cancelled", counter="cancellations")


def window_record_stock_out(*, order_id: str, at: str) -> bool:
    """Count an order rejected for lack of stock in the minute of ``at``."""
    return _count_once(order_id, at, flag="stocked_out", counter="stock_outs")


def _count_once(order_id: str, at: str, *, flag: str, counter: str) -> bool:
    """Add 1 to ``counter`` of ``at``'s minute unless the order's ``flag`` is set."""
    minute = _minute_of(at, order_id)
    with transaction.atomic():
        seen = _seen(order_id)
        if getattr(seen, flag):
            return False
        setattr(seen, flag, True)
        seen.save(update_fields=[flag])
        _bump_minute(minute, **{counter: 1})
    return True


def window_close_due(*, now: datetime) -> int:
    """Publish the windows of every minute ended ``GRACE`` before ``now``.

    Two events per minute, in minute order: ``orders_per_minute`` and the
    sliding ``top_skus_5m`` ending with that minute. Returns how many
    minutes were closed; a second call closes none of them again.
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
            _publish(
                ORDERS_PER_MINUTE,
                start,
                end,
                {
                    "orders": stats.orders,
                    "revenue_cents": stats.revenue_cents,
                    "cancellations": stats.cancellations,
                    "stock_outs": stats.stock_outs,
                },
            )
            _publish(TOP_SKUS_5M, end - TOP_SPAN, end, {"skus": top_skus(end=end)})
        MinuteStats.objects.filter(pk__in=[s.pk for s in due]).update(closed=True)
    return len(due)


def top_skus(*, end: datetime, span: timedelta = TOP_SPAN) -> list[dict[str, Any]]:
    """Return the ``TOP_N`` SKUs by units in the ``span`` ending at ``end``."""
    rows = (
        SkuMinute.objects.filter(minute__gte=end - span, minute__lt=end)
        .values("sku")
        .annotate(total=Sum("qty"))
        .order_by("-total", "sku")[:TOP_N]
    )
    return [{"sku": row["sku"], "qty": row["total"]} for row in rows]


def bought_with(*, sku: str, limit: int = 5) -> list[tuple[str, int]]:
    """Return the SKUs most often ordered with ``sku`` and how often."""
    pairs = BoughtTogether.objects.filter(sku_a=sku) | BoughtTogether.objects.filter(
        sku_b=sku
    )
    ranked = pairs.order_by("-count", "sku_a", "sku_b")[:limit]
    return [(p.sku_b if p.sku_a == sku else p.sku_a, p.count) for p in ranked]


def _publish(
    window: str, start: datetime, end: datetime, metrics: dict[str, Any]
) -> None:
    data = {
        "window": window,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "metrics": metrics,
    }
    publish_on_commit(TOPIC, WINDOW_CLOSED, data, key=window)


def _seen(order_id: str) -> SeenOrder:
    """Return the order's row, locked: one handler at a time counts an order."""
    SeenOrder.objects.get_or_create(order_id=order_id)
    return SeenOrder.objects.select_for_update().get(order_id=order_id)


def _bump_minute(minute: datetime, **amounts: int) -> None:
    row, _ = MinuteStats.objects.get_or_create(minute=minute)
    changes = {name: F(name) + amount for name, amount in amounts.items()}
    MinuteStats.objects.filter(pk=row.pk).update(**changes)


def _minute_of(value: Any, order_id: str) -> datetime:
    """Return the UTC minute an ISO 8601 event time falls in."""
    try:
        moment = parse_time(value)
    except (TypeError, ValueError, AttributeError):
        raise InvalidWindowInput(
            f"Order {order_id}: event time {value!r} is not ISO 8601; send "
            "e.g. '2025-01-01T12:00:00Z'."
        ) from None
    return moment.replace(second=0, microsecond=0)


def _qty_by_sku(lines: Iterable[Mapping[str, Any]], order_id: str) -> dict[str, int]:
    qty: dict[str, int] = defaultdict(int)
    try:
        for line in lines:
            qty[str(line["sku"])] += int(line["qty"])
    except (TypeError, KeyError, ValueError):
        raise InvalidWindowInput(
            f"Order {order_id}: lines must be objects with 'sku' and 'qty' "
            f"(docs/retail.md, order.placed), got {lines!r}."
        ) from None
    if not qty:
        raise InvalidWindowInput(
            f"Order {order_id} has no lines; order.placed needs at least one."
        )
    return dict(qty)
