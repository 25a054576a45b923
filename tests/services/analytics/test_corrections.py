"""Late events re-publish the closed windows they change, as numbered revisions."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from eventbus import publish
from eventbus.catalog import sync_schemas
from eventbus.resets import ResetTarget, reset_group
from eventbus.schemas import get_event_type
from eventbus.testing import capture_events
from services.analytics.closing import window_close_due
from services.analytics.events import (
    ORDERS_PER_MINUTE,
    TOP_SKUS_5M,
    TOPIC,
    WINDOW_CLOSED,
)
from services.analytics.models import MinuteStats, PublishedWindow, SkuMinute
from services.analytics.windows import (
    LATENESS,
    MINUTE,
    window_record_cancel,
    window_record_order,
)
from tests.eventbus.consumer_helpers import running, wait_until
from tests.services.analytics.conftest import order_placed
from tests.services.analytics.test_runtime import drained

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def analytics_topic(topics, make_topic):
    """The retail topics plus analytics' own."""
    make_topic("analytics", partitions=4)


def _order(order_id: str, minute: int, sku: str, qty: int, now: datetime) -> None:
    window_record_order(
        order_id=order_id,
        placed_at=f"2025-01-01T12:{minute:02d}:10Z",
        lines=[{"sku": sku, "qty": qty, "unit_price_cents": 100}],
        total_cents=qty * 100,
        now=now,
    )


@pytest.fixture
def closed(analytics_topic) -> datetime:
    """Orders in 12:00 and 12:03, both minutes closed at 12:05:30; return then."""
    now = T0.replace(minute=5, second=30)
    _order("o1", 0, "A", 2, now=T0.replace(second=20))
    _order("o2", 3, "B", 5, now=T0.replace(minute=3, second=20))
    assert window_close_due(now=now) == 2
    return now


def _revisions() -> list[tuple[str, str, int]]:
    return [
        (w.window, w.start.strftime("%H:%M"), w.revision)
        for w in PublishedWindow.objects.order_by("end", "window")
    ]


@pytest.mark.django_db
def test_bus_sync_accepts_the_revision_as_a_compatible_v2():
    """A deploy that stored v1 accepts v2; v1 events stay valid under v2."""
    v1 = get_event_type(TOPIC, WINDOW_CLOSED, 1)
    v2 = get_event_type(TOPIC, WINDOW_CLOSED, 2)
    sync_schemas([v1])  # what the deploy before this change registered

    assert sync_schemas([v1, v2]).added == [f"{WINDOW_CLOSED} v2"]
    v2.validate(
        {
            "window": ORDERS_PER_MINUTE,
            "start": "2025-01-01T12:00:00+00:00",
            "end": "2025-01-01T12:01:00+00:00",
            "metrics": {"orders": 1},
        }
    )
    assert get_event_type(TOPIC, WINDOW_CLOSED).version == 2


@pytest.mark.django_db
def test_a_late_cancel_publishes_one_correction_with_revision_2(closed):
    """A cancel for a closed minute re-publishes its minute once, as revision 2."""
    late = closed + timedelta(minutes=10)
    window_record_cancel(order_id="o1", at="2025-01-01T12:00:40Z", now=late)

    with capture_events() as captured:
        assert window_close_due(now=late) == 0
    captured.assert_published(WINDOW_CLOSED)
    assert captured.events[0].data == {
        "window": ORDERS_PER_MINUTE,
        "start": "2025-01-01T12:00:00+00:00",
        "end": "2025-01-01T12:01:00+00:00",
        "revision": 2,
        "metrics": {
            "orders": 1,
            "revenue_cents": 200,
            "cancellations": 1,
            "stock_outs": 0,
        },
    }
    assert captured.events[0].partitionkey == ORDERS_PER_MINUTE
    assert captured.events[0].dataschema.endswith(":2")

    with capture_events() as again:
        window_close_due(now=late + MINUTE)
    again.assert_published()


@pytest.mark.django_db
def test_a_late_order_corrects_its_minute_and_every_top_skus_holding_it(closed):
    """A late order re-publishes orders_per_minute and each top_skus_5m it is in."""
    late = closed + timedelta(minutes=2)
    _order("o3", 0, "C", 9, now=late)

    with capture_events() as captured:
        window_close_due(now=late)
    captured.assert_published(*[WINDOW_CLOSED] * 3)
    data = [event.data for event in captured.events]
    assert [(d["window"], d["end"][11:16], d["revision"]) for d in data] == [
        (ORDERS_PER_MINUTE, "12:01", 2),
        (TOP_SKUS_5M, "12:01", 2),
        (TOP_SKUS_5M, "12:04", 2),
    ]
    assert data[0]["metrics"]["orders"] == 2
    assert data[0]["metrics"]["revenue_cents"] == 1100
    assert data[2]["metrics"] == {
        "skus": [{"sku": "C", "qty": 9}, {"sku": "B", "qty": 5}, {"sku": "A", "qty": 2}]
    }
    assert _revisions() == [
        (ORDERS_PER_MINUTE, "12:00", 2),
        (TOP_SKUS_5M, "11:56", 2),
        (ORDERS_PER_MINUTE, "12:03", 1),
        (TOP_SKUS_5M, "11:59", 2),
    ]


@pytest.mark.django_db
def test_a_redelivered_late_event_publishes_nothing_more(closed):
    """The same late event recorded again changes no table and bumps no revision."""
    late = closed + timedelta(minutes=10)
    window_record_cancel(order_id="o1", at="2025-01-01T12:00:40Z", now=late)
    window_close_due(now=late)
    before = list(MinuteStats.objects.values_list("minute", "cancellations"))

    with capture_events() as captured:
        window_record_cancel(order_id="o1", at="2025-01-01T12:00:40Z", now=late)
        _order("o1", 0, "A", 2, now=late)  # the first order, re-delivered late
        window_close_due(now=late + MINUTE)
    captured.assert_published()
    assert list(MinuteStats.objects.values_list("minute", "cancellations")) == before
    assert (ORDERS_PER_MINUTE, "12:00", 2) in _revisions()


@pytest.mark.django_db
def test_late_events_before_one_close_make_one_correction(closed):
    """Several late events for a window before the next close: one revision."""
    late = closed + timedelta(minutes=1)
    window_record_cancel(order_id="o1", at="2025-01-01T12:00:40Z", now=late)
    window_record_cancel(order_id="o9", at="2025-01-01T12:00:50Z", now=late)

    with capture_events() as captured:
        window_close_due(now=late)
    captured.assert_published(WINDOW_CLOSED)
    assert captured.events[0].data["revision"] == 2
    assert captured.events[0].data["metrics"]["cancellations"] == 2


@pytest.mark.django_db
def test_an_event_beyond_the_bound_is_counted_and_not_republished(closed, caplog):
    """Later than LATENESS: applied to the tables, counted and logged, not sent."""
    too_late = T0 + MINUTE + LATENESS + timedelta(seconds=1)
    with caplog.at_level(logging.WARNING, logger="services.analytics"):
        window_record_cancel(order_id="o1", at="2025-01-01T12:00:40Z", now=too_late)
        _order("o4", 0, "A", 1, now=too_late)

    with capture_events() as captured:
        window_close_due(now=too_late)
    captured.assert_published()
    stats = MinuteStats.objects.get(minute=T0)
    assert (stats.orders, stats.cancellations, stats.too_late) == (2, 1, 2)
    assert SkuMinute.objects.get(minute=T0, sku="A").qty == 3
    assert "beyond the 1 day, 0:00:00 bound" in caplog.text
    assert all(revision == 1 for *_, revision in _revisions())


@pytest.mark.django_db
def test_a_late_event_in_an_empty_minute_closes_it_and_corrects_neighbours(closed):
    """A first event for a long-past minute: revision 1 there, 2 where it shows."""
    late = closed + timedelta(minutes=3)
    _order("o5", 2, "D", 1, now=late)

    with capture_events() as captured:
        assert window_close_due(now=late) == 1
    data = [event.data for event in captured.events]
    assert [(d["window"], d["end"][11:16], d["revision"]) for d in data] == [
        (ORDERS_PER_MINUTE, "12:03", 1),
        (TOP_SKUS_5M, "12:03", 1),
        (TOP_SKUS_5M, "12:04", 2),
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.db_heavy
def test_a_replay_after_a_correction_publishes_nothing_new(analytics_topic, lake_dir):
    """Under the runtime: a late order is corrected once; a reset replay adds none."""
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=10)

    def place(order_id: str, qty: int) -> None:
        data = {**order_placed(order_id, qty=qty), "placed_at": minute.isoformat()}
        publish("orders", "order.placed", data, key=order_id)

    for i in range(3):
        place(f"o{i}", qty=1)
    with running("analytics"):
        wait_until(drained, what="the orders to be acked")
    window_close_due(now=timezone.now())

    place("late", qty=4)
    with running("analytics"):
        wait_until(drained, what="the late order to be acked")
    with capture_events() as corrected:
        window_close_due(now=timezone.now())
    opm = corrected.of(WINDOW_CLOSED)[0].data
    assert (opm["window"], opm["revision"]) == (ORDERS_PER_MINUTE, 2)
    assert opm["metrics"]["orders"] == 4
    before = (_revisions(), list(MinuteStats.objects.values_list("orders", "dirty")))

    reset_group("orders", "analytics", ResetTarget.earliest(), dry_run=False)
    with running("analytics"):
        wait_until(drained, what="the replay to be delivered and acked")
    with capture_events() as replayed:
        window_close_due(now=timezone.now())
    replayed.assert_published()
    after = (_revisions(), list(MinuteStats.objects.values_list("orders", "dirty")))
    assert after == before
