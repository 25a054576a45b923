"""Analytics' window actions: record events into per-minute stats and pairs.

These are actions (they write), kept apart from ``actions.py`` (the lake)
and ``closing.py`` (publishing the windows) so that each stays small. Every
window is keyed by EVENT time (``placed_at`` of an order, the envelope
``time`` of a cancel or a rejection), never by arrival time: replaying the
log after a group reset puts every event into the same minute again, and
``SeenOrder`` makes the second pass count nothing, so the windows come out
the same.

Late events. An event that changes a minute is always applied to the
tables. If it arrives at most ``LATENESS`` after its minute ended, the
minute is marked ``dirty`` and the next ``window_close_due`` re-publishes
every already published window it changed, with the next ``revision``.
Later than that it is counted in ``MinuteStats.too_late`` and logged when it
changed a published window, and nothing is re-published (docs/retail.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from itertools import combinations
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from services.analytics.events import ORDERS_PER_MINUTE, TOP_SKUS_5M
from services.analytics.exceptions import InvalidWindowInput
from services.analytics.lake import parse_time
from services.analytics.models import (
    BoughtTogether,
    MinuteStats,
    PublishedWindow,
    SeenOrder,
    SkuMinute,
)

logger = logging.getLogger("services.analytics")

MINUTE = timedelta(minutes=1)
# How late an event may arrive and still be in its minute's first close.
GRACE = timedelta(minutes=1)
# How late an event may arrive and still correct a published window. A day,
# as Kafka Streams' former default window retention: it covers a consumer
# stopped overnight or a stuck outbox relay; events later than that come
# from an outage worth a look (too_late, the log), not from normal skew.
LATENESS = timedelta(days=1)
TOP_SPAN = timedelta(minutes=5)
TOP_N = 5


def window_record_order(
    *,
    order_id: str,
    placed_at: str,
    lines: Iterable[Mapping[str, Any]],
    total_cents: int,
    now: datetime | None = None,
) -> bool:
    """Count a placed order in its minute and pairs; False if counted already.

    ``now`` is the arrival time that lateness is measured against (default:
    the clock).
    """
    minute = _minute_of(placed_at, order_id)
    qty_by_sku = _qty_by_sku(lines, order_id)
    with transaction.atomic():
        seen = _seen(order_id)
        if seen.placed:
            return False
        seen.placed = True
        seen.save(update_fields=["placed"])
        for sku, qty in sorted(qty_by_sku.items()):
            row, _ = SkuMinute.objects.get_or_create(minute=minute, sku=sku)
            SkuMinute.objects.filter(pk=row.pk).update(qty=F("qty") + qty)
        for sku_a, sku_b in combinations(sorted(qty_by_sku), 2):
            pair, _ = BoughtTogether.objects.get_or_create(sku_a=sku_a, sku_b=sku_b)
            BoughtTogether.objects.filter(pk=pair.pk).update(count=F("count") + 1)
        # Last: the minute's row is the hot one (every order of that minute
        # updates it), so its lock is held only until the commit.
        _bump_minute(
            minute,
            order_id=order_id,
            now=now,
            skus=True,
            orders=1,
            revenue_cents=int(total_cents),
        )
    return True


def window_record_cancel(
    *, order_id: str, at: str, now: datetime | None = None
) -> bool:
    """Count an order's cancellation in the minute of ``at``; False if counted."""
    return _count_once(order_id, at, now, flag="cancelled", counter="cancellations")


def window_record_stock_out(
    *, order_id: str, at: str, now: datetime | None = None
) -> bool:
    """Count an order rejected for lack of stock in the minute of ``at``."""
    return _count_once(order_id, at, now, flag="stocked_out", counter="stock_outs")


def _count_once(
    order_id: str, at: str, now: datetime | None, *, flag: str, counter: str
) -> bool:
    """Add 1 to ``counter`` of ``at``'s minute unless the order's ``flag`` is set."""
    minute = _minute_of(at, order_id)
    with transaction.atomic():
        seen = _seen(order_id)
        if getattr(seen, flag):
            return False
        setattr(seen, flag, True)
        seen.save(update_fields=[flag])
        _bump_minute(minute, order_id=order_id, now=now, skus=False, **{counter: 1})
    return True


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


def _seen(order_id: str) -> SeenOrder:
    """Return the order's row, locked: one handler at a time counts an order."""
    SeenOrder.objects.get_or_create(order_id=order_id)
    return SeenOrder.objects.select_for_update().get(order_id=order_id)


def _bump_minute(
    minute: datetime,
    *,
    order_id: str,
    now: datetime | None,
    skus: bool,
    **amounts: int,
) -> None:
    """Add ``amounts`` to the minute; mark it dirty, or count it too late."""
    now = timezone.now() if now is None else now
    row, _ = MinuteStats.objects.get_or_create(minute=minute)
    changes: dict[str, Any] = {
        name: F(name) + amount for name, amount in amounts.items()
    }
    late_by = now - (minute + MINUTE)
    if late_by <= LATENESS:
        # Set in the same UPDATE as the counts, under the row's lock: a close
        # that read the minute before this commits sees it dirty next time.
        changes["dirty"] = True
    elif published_windows(minute, skus=skus).exists():
        changes["too_late"] = F("too_late") + 1
        logger.warning(
            "Order %s: event of minute %s arrived %s after the minute ended, "
            "beyond the %s bound for corrections; counted in the tables, "
            "published windows not corrected.",
            order_id,
            minute.isoformat(),
            late_by,
            LATENESS,
        )
    MinuteStats.objects.filter(pk=row.pk).update(**changes)


def published_windows(minute: datetime, *, skus: bool) -> QuerySet[PublishedWindow]:
    """Return the published windows that a change to ``minute`` alters.

    Its ``orders_per_minute`` and, when SKU units changed, every
    ``top_skus_5m`` whose span holds it (those ending in (minute, minute+5m]).
    """
    which = Q(window=ORDERS_PER_MINUTE, start=minute)
    if skus:
        which |= Q(window=TOP_SKUS_5M, end__gt=minute, end__lte=minute + TOP_SPAN)
    return PublishedWindow.objects.filter(which)


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
