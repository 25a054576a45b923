"""retail check: every logged event is in the lake (or staged for it) exactly once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from eventbus import publish
from eventbus.reading import read_range
from services.analytics.actions import event_stage, lake_flush
from services.retail.invariants import check_lake


@pytest.fixture
def orders_log(make_topic, settings, tmp_path):
    settings.ANALYTICS_LAKE_PATH = str(tmp_path / "lake")
    make_topic("orders", partitions=2)
    for n in range(3):
        publish(
            "orders",
            "order.placed",
            {
                "order_id": f"o-{n}",
                "customer_id": "c-1",
                "customer_email": "ada@example.com",
                "lines": [{"sku": "TEE", "qty": 1, "unit_price_cents": 100}],
                "total_cents": 100,
                "currency": "EUR",
                "placed_at": datetime.now(UTC).isoformat(),
            },
            key=f"o-{n}",
        )
    return read_range("orders", limit=10).events


def test_a_logged_event_missing_from_the_lake_is_reported(orders_log, bus):
    first, second, third = orders_log
    event_stage(event=first)
    event_stage(event=second)
    lake_flush()
    (problem,) = check_lake()
    assert problem.kind == "lake" and problem.ref == third.id
    assert "missing from the lake" in problem.message

    event_stage(event=third)  # staged counts: the next flush writes it
    assert check_lake() == []
    lake_flush()
    assert check_lake() == []
