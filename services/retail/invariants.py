"""The invariants of docs/retail.md, checked over every service's tables.

Each ``check_*`` returns the problems it found; none means the invariant
holds. They are meant to run after traffic drained (``drain_state``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import orjson
import pyarrow.parquet as pq
from django.db.models import Count

from eventbus.client import get_redis
from eventbus.consumer.subscriptions import subscriptions
from eventbus.envelope import FIELD
from eventbus.exceptions import UnknownTopic
from eventbus.keys import stream_key
from eventbus.lag import topic_lag
from eventbus.models import OutboxEvent
from eventbus.streams import stream_state
from eventbus.topics import get_topic
from services.analytics.lake import lake_root
from services.analytics.models import LakeFile, StagedEvent
from services.checkout.models import Order, OrderStatus
from services.contact.models import Notification
from services.inventory.models import Reservation, StockItem
from services.shipping.models import Shipment

TOPICS = ("orders", "stock", "shipments")

OS = OrderStatus
R = Reservation.Status
S = Shipment.Status
SHIPPED = frozenset({S.DISPATCHED, S.DELIVERED})


@dataclass(frozen=True)
class Problem:
    """One broken invariant: its kind, the row it is about, and what is off."""

    kind: str
    ref: str
    message: str


def drain_state() -> list[str]:
    """Return why traffic has not drained yet (empty: it has)."""
    waiting = []
    unpublished = OutboxEvent.objects.filter(published_at__isnull=True).count()
    if unpublished:
        waiting.append(f"{unpublished} outbox events not relayed yet")
    for topic in TOPICS:
        try:
            lags = topic_lag(topic)
        except UnknownTopic:
            continue  # never declared here, so nothing was published to it
        for lag in lags:
            if lag.backlog != 0:
                backlog = "unknown" if lag.backlog is None else lag.backlog
                waiting.append(f"group {lag.group} on {topic}: backlog {backlog}")
        # A group that does not exist yet has no lag to show, yet all the
        # topic's events are waiting for it (its worker never started).
        missing = _subscribed_groups(topic) - {lag.group for lag in lags}
        if missing and _has_events(topic):
            waiting += [
                f"group {group} on {topic} does not exist yet: start its worker"
                for group in sorted(missing)
            ]
    return waiting


def _subscribed_groups(topic: str) -> set[str]:
    return {sub.group for sub in subscriptions() if sub.topic == topic}


def _has_events(topic: str) -> bool:
    client = get_redis()
    return any(
        stream_state(client, topic, p).length for p in get_topic(topic).partition_ids
    )


def check_orders() -> list[Problem]:
    """Every order ended rejected, shipped, or cancelled with nothing held."""
    reservations = {r.order_id: r for r in Reservation.objects.all()}
    shipments = {s.order_id: s for s in Shipment.objects.all()}
    problems = []
    for order in Order.objects.all().iterator():
        res = reservations.get(order.id)
        shp = shipments.get(order.id)
        problems += _order_problems(order, res, shp)
    return problems


def _order_problems(
    order: Order, res: Reservation | None, shp: Shipment | None
) -> list[Problem]:
    def off(message: str) -> list[Problem]:
        return [Problem("order", order.id, f"{order.status} order: {message}")]

    res_status = res.status if res else "none"
    shp_status = shp.status if shp else "none"
    if order.status in (OS.PLACED, OS.RESERVED):
        return off(
            f"not finished (reservation {res_status}, shipment {shp_status}); "
            "a shipping task may still be due: check again in a few seconds"
        )
    if order.status == OS.REJECTED:
        if res_status != R.REJECTED or shp is not None:
            return off(f"reservation {res_status} and shipment {shp_status}")
    elif order.status in (OS.DISPATCHED, OS.DELIVERED):
        if res_status != R.SHIPPED or shp_status != order.status:
            return off(
                f"reservation {res_status} (want shipped) and shipment "
                f"{shp_status} (want {order.status})"
            )
    elif order.status == OS.CANCELLED:
        if res_status not in ("none", R.REJECTED, R.RELEASED):
            return off(f"its reservation is {res_status}, not released")
        if shp_status not in ("none", S.CANCELLED):
            return off(f"its shipment is {shp_status}, not cancelled")
    return []


def check_reservations() -> list[Problem]:
    """Every reservation's order exists and its shipment agrees with it."""
    orders = set(Order.objects.values_list("id", flat=True))
    shipments = dict(Shipment.objects.values_list("order_id", "status"))
    want: dict[str, Callable[[str | None], bool]] = {
        R.HELD: lambda s: s == S.CREATED,
        R.SHIPPED: lambda s: s in SHIPPED,
        R.RELEASED: lambda s: s == S.CANCELLED,
        R.REJECTED: lambda s: s is None,
    }
    problems = []
    for order_id, status in Reservation.objects.values_list("order_id", "status"):
        if order_id not in orders:
            problems.append(
                Problem("reservation", order_id, "no such order in checkout")
            )
        shipment = shipments.get(order_id)
        if not want[status](shipment):
            problems.append(
                Problem(
                    "reservation",
                    order_id,
                    f"reservation {status} but shipment {shipment or 'none'}",
                )
            )
    return problems


def check_stock() -> list[Problem]:
    """No negative counts; units conserved; counts match the reservations."""
    held: Counter[str] = Counter()
    shipped: Counter[str] = Counter()
    for status, lines in Reservation.objects.values_list("status", "lines"):
        into = {R.HELD: held, R.SHIPPED: shipped}.get(status)
        for line in lines if into is not None else ():
            into[line["sku"]] += line["qty"]
    problems = []
    for item in StockItem.objects.all():
        counts = (item.available, item.reserved, item.shipped)
        if min(counts) < 0:
            problems.append(Problem("stock", item.sku, f"negative count {counts}"))
        total, owned = sum(counts), item.initial + item.restocked
        if total != owned:
            problems.append(
                Problem(
                    "stock",
                    item.sku,
                    f"available+reserved+shipped = {total}, but initial+restocked "
                    f"= {owned}",
                )
            )
        for name, count, expected in (
            ("reserved", item.reserved, held[item.sku]),
            ("shipped", item.shipped, shipped[item.sku]),
        ):
            if count != expected:
                problems.append(
                    Problem(
                        "stock",
                        item.sku,
                        f"{name} = {count}, but reservations add up to {expected}",
                    )
                )
    return problems


def check_notifications() -> list[Problem]:
    """One notification per causing event; one confirmation per placed order."""
    problems = [
        Problem("notification", row["cause_event_id"], f"{row['n']} notifications")
        for row in Notification.objects.values("cause_event_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
    ]
    per_order: dict[str, Counter[str]] = defaultdict(Counter)
    for order_id, kind in Notification.objects.values_list("order_id", "kind"):
        per_order[order_id][kind] += 1
    statuses = dict(Order.objects.values_list("id", "status"))
    for order_id in per_order.keys() - statuses.keys():
        problems.append(
            Problem("notification", order_id, "notified order not in checkout")
        )
    kinds = Notification.Kind
    for order_id, status in statuses.items():
        counts = per_order.get(order_id, Counter())
        want = {kinds.ORDER_CONFIRMED: 1}
        if status == OS.REJECTED:
            want[kinds.ORDER_REJECTED] = 1
        for kind, n in counts.items():
            if n > want.get(kind, 1):
                problems.append(
                    Problem("notification", order_id, f"{n} {kind} notifications")
                )
        for kind, n in want.items():
            if counts[kind] < n:
                problems.append(Problem("notification", order_id, f"no {kind}"))
    return problems


def check_shipments() -> list[Problem]:
    """Every shipment's order exists in checkout."""
    orders = set(Order.objects.values_list("id", flat=True))
    return [
        Problem("shipment", shipment_id, f"order {order_id} not in checkout")
        for shipment_id, order_id in Shipment.objects.values_list("id", "order_id")
        if order_id not in orders
    ]


def check_lake() -> list[Problem]:
    """Every event in the log is in the lake (or staged for it) exactly once.

    Events the log no longer holds (trimmed by retention) are not judged.
    """
    problems: list[Problem] = []
    client = get_redis()
    for topic in TOPICS:
        try:
            partitions = get_topic(topic).partition_ids
        except UnknownTopic:
            continue
        in_log: set[str] = set()
        for p in partitions:
            for _, fields in client.xrange(stream_key(topic, p)):
                in_log.add(orjson.loads(fields[FIELD])["id"])
        kept: Counter[str] = Counter()
        for path in set(
            LakeFile.objects.filter(topic=topic).values_list("path", flat=True)
        ):
            table = pq.read_table(lake_root() / path, columns=["id"])
            kept.update(table.column("id").to_pylist())
        kept.update(
            StagedEvent.objects.filter(topic=topic).values_list("event_id", flat=True)
        )
        problems += [
            Problem("lake", event_id, f"{topic} event archived {n} times")
            for event_id, n in kept.items()
            if n > 1
        ]
        problems += [
            Problem("lake", event_id, f"{topic} event missing from the lake")
            for event_id in sorted(in_log - set(kept))
        ]
    return problems


CHECKS: tuple[Callable[[], list[Problem]], ...] = (
    check_orders,
    check_reservations,
    check_stock,
    check_notifications,
    check_shipments,
    check_lake,
)


def check_all(checks: Iterable[Callable[[], list[Problem]]] = CHECKS) -> list[Problem]:
    """Run every check; return all problems found."""
    return [problem for check in checks for problem in check()]
