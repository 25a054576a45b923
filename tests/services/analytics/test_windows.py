"""Stream windows by event time, replays, bought-together, closing windows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventbus import publish
from eventbus.envelope import Event, Position, new_event_id
from eventbus.resets import ResetTarget, reset_group
from eventbus.testing import capture_events
from services.analytics.closing import window_close_due
from services.analytics.events import TOP_SKUS_5M, WINDOW_CLOSED
from services.analytics.exceptions import InvalidWindowInput
from services.analytics.handlers import on_event
from services.analytics.models import (
    BoughtTogether,
    MinuteStats,
    SeenOrder,
    SkuMinute,
    StagedEvent,
)
from services.analytics.windows import (
    bought_with,
    window_record_cancel,
    window_record_order,
    window_record_stock_out,
)
from tests.eventbus.consumer_helpers import running, wait_until
from tests.services.analytics.conftest import order_placed
from tests.services.analytics.test_runtime import drained

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def _lines(*pairs: tuple[str, int]) -> list[dict[str, object]]:
    return [{"sku": s, "qty": q, "unit_price_cents": 100} for s, q in pairs]


def _stats() -> list[tuple[object, ...]]:
    return list(
        MinuteStats.objects.order_by("minute").values_list(
            "minute", "orders", "revenue_cents", "cancellations", "stock_outs"
        )
    )


@pytest.fixture
def analytics_topic(topics, make_topic):
    """The retail topics plus analytics' own."""
    make_topic("analytics", partitions=4)


@pytest.mark.django_db
def test_orders_are_counted_in_the_minute_of_placed_at():
    """An order lands in its placed_at minute, whatever the arrival time."""
    window_record_order(
        order_id="o1",
        placed_at="2025-01-01T12:00:59.9Z",
        lines=_lines(("A", 2), ("B", 1)),
        total_cents=300,
    )
    window_record_order(
        order_id="o2",
        placed_at="2025-01-01T13:01:10+01:00",  # 12:01 UTC
        lines=_lines(("A", 1)),
        total_cents=100,
    )
    window_record_cancel(order_id="o1", at="2025-01-01T12:01:30Z")
    window_record_stock_out(order_id="o3", at="2025-01-01T12:01:40Z")
    assert _stats() == [
        (T0, 1, 300, 0, 0),
        (T0.replace(minute=1), 1, 100, 1, 1),
    ]
    skus = SkuMinute.objects.order_by("minute", "sku").values_list(
        "minute", "sku", "qty"
    )
    assert list(skus) == [
        (T0, "A", 2),
        (T0, "B", 1),
        (T0.replace(minute=1), "A", 1),
    ]


@pytest.mark.django_db
def test_replaying_the_same_events_changes_nothing():
    """Recording an order, cancel or stock-out again counts nothing twice."""
    for _ in range(2):
        window_record_order(
            order_id="o1",
            placed_at="2025-01-01T12:00:00Z",
            lines=_lines(("A", 1), ("B", 1)),
            total_cents=200,
        )
        window_record_cancel(order_id="o1", at="2025-01-01T12:00:30Z")
        window_record_stock_out(order_id="o2", at="2025-01-01T12:00:40Z")
    assert _stats() == [(T0, 1, 200, 1, 1)]
    assert list(SkuMinute.objects.values_list("sku", "qty").order_by("sku")) == [
        ("A", 1),
        ("B", 1),
    ]
    assert list(BoughtTogether.objects.values_list("sku_a", "sku_b", "count")) == [
        ("A", "B", 1)
    ]
    assert SeenOrder.objects.count() == 2


@pytest.mark.django_db
def test_bought_together_counts_orders_holding_both_skus():
    """Each order adds one to every pair of its distinct SKUs, stored a < b."""
    window_record_order(
        order_id="o1",
        placed_at="2025-01-01T12:00:00Z",
        lines=_lines(("C", 1), ("A", 1), ("B", 1), ("A", 3)),
        total_cents=0,
    )
    window_record_order(
        order_id="o2",
        placed_at="2025-01-01T12:00:00Z",
        lines=_lines(("B", 1), ("A", 1)),
        total_cents=0,
    )
    pairs = BoughtTogether.objects.order_by("sku_a", "sku_b")
    assert list(pairs.values_list("sku_a", "sku_b", "count")) == [
        ("A", "B", 2),
        ("A", "C", 1),
        ("B", "C", 1),
    ]
    assert bought_with(sku="B") == [("A", 2), ("C", 1)]
    assert SkuMinute.objects.get(sku="A").qty == 5


@pytest.mark.django_db
def test_bad_input_raises_and_writes_nothing():
    """A malformed event time or lines raise InvalidWindowInput, nothing stored."""
    with pytest.raises(InvalidWindowInput, match="not ISO 8601"):
        window_record_order(
            order_id="o1", placed_at="yesterday", lines=_lines(("A", 1)), total_cents=1
        )
    with pytest.raises(InvalidWindowInput, match="'sku' and 'qty'"):
        window_record_order(
            order_id="o1",
            placed_at="2025-01-01T12:00:00Z",
            lines=[{"sku": "A"}],
            total_cents=1,
        )
    assert not MinuteStats.objects.exists() and not SeenOrder.objects.exists()


@pytest.mark.django_db
def test_close_due_publishes_each_due_minute_once(analytics_topic):
    """Minutes ended a grace minute ago publish both windows, once, in order."""
    for i, (minute, sku, qty) in enumerate([(0, "A", 2), (3, "B", 5), (5, "C", 1)]):
        window_record_order(
            order_id=f"o{i}",
            placed_at=f"2025-01-01T12:0{minute}:10Z",
            lines=_lines((sku, qty)),
            total_cents=qty * 100,
        )
    now = T0.replace(minute=5, second=30)  # 12:03 ends 12:04 <= 12:05:30 - 1m
    with capture_events() as captured:
        assert window_close_due(now=now) == 2
    captured.assert_published(*[WINDOW_CLOSED] * 4)
    data = [event.data for event in captured.events]
    assert data[0] == {
        "window": "orders_per_minute",
        "start": "2025-01-01T12:00:00+00:00",
        "end": "2025-01-01T12:01:00+00:00",
        "revision": 1,
        "metrics": {
            "orders": 1,
            "revenue_cents": 200,
            "cancellations": 0,
            "stock_outs": 0,
        },
    }
    assert data[3] == {
        "window": TOP_SKUS_5M,
        "start": "2025-01-01T11:59:00+00:00",
        "end": "2025-01-01T12:04:00+00:00",
        "revision": 1,
        "metrics": {"skus": [{"sku": "B", "qty": 5}, {"sku": "A", "qty": 2}]},
    }
    assert [e.partitionkey for e in captured.events][:2] == [
        "orders_per_minute",
        TOP_SKUS_5M,
    ]

    with capture_events() as again:
        assert window_close_due(now=now) == 0
    again.assert_published()
    assert list(MinuteStats.objects.filter(closed=False).values_list("minute")) == [
        (T0.replace(minute=5),)
    ]


@pytest.mark.django_db
def test_handler_stages_and_counts_by_type(topics):
    """on_event stages every event and feeds orders, cancels, rejections only."""

    def event(type_: str, data: dict, sid: str, time: str) -> Event:
        return Event(
            id=new_event_id(),
            source="/test",
            type=type_,
            time=time,
            data=data,
            position=Position(type_.split(".")[0] + "s", 0, sid),
        )

    placed = event(
        "order.placed", order_placed("o1", qty=2), "1-0", "2025-01-02T00:00:00Z"
    )
    on_event(placed)
    on_event(placed)  # re-delivered
    on_event(
        event(
            "order.cancelled",
            {"order_id": "o1", "customer_id": "c1", "reason": "x"},
            "2-0",
            "2025-01-01T12:02:05Z",
        )
    )
    rejected = {"order_id": "o2", "customer_id": "c1", "reason": "x", "short": []}
    on_event(
        Event(
            id=new_event_id(),
            source="/test",
            type="stock.rejected",
            time="2025-01-01T12:02:06Z",
            data=rejected,
            position=Position("stock", 0, "3-0"),
        )
    )
    on_event(
        Event(
            id=new_event_id(),
            source="/test",
            type="shipment.created",
            time="2025-01-01T12:03:00Z",
            data={"order_id": "o1"},
            position=Position("shipments", 0, "4-0"),
        )
    )
    assert StagedEvent.objects.count() == 4
    # By placed_at (12:00), not the envelope time: event time, not arrival.
    assert _stats() == [(T0, 1, 500, 0, 0), (T0.replace(minute=2), 0, 0, 1, 1)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.db_heavy
def test_the_group_builds_the_same_windows_after_a_reset(analytics_topic, lake_dir):
    """Under the runtime, replaying the orders from the start adds nothing."""
    for i in range(5):
        publish("orders", "order.placed", order_placed(f"o{i}", qty=i + 1), key=f"o{i}")
    with running("analytics"):
        wait_until(lambda: SeenOrder.objects.count() == 5, what="5 orders counted")
        wait_until(drained, what="the orders to be acked")
    before = _stats()
    assert before == [(T0, 5, 250 * 15, 0, 0)]

    reset_group("orders", "analytics", ResetTarget.earliest(), dry_run=False)
    with running("analytics"):
        wait_until(drained, what="the replay to be delivered and acked")
    assert _stats() == before
    assert SkuMinute.objects.get(sku="A").qty == 15
