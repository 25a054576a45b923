"""order_place: what it writes, what it publishes, and what it refuses."""

from __future__ import annotations

from datetime import datetime

import pytest

from eventbus.models import OutboxEvent
from eventbus.testing import capture_events
from services.checkout.actions import order_place
from services.checkout.exceptions import OrderInvalid
from services.checkout.lines import MAX_QTY
from services.checkout.models import Order, OrderLine, OrderStatus

pytestmark = pytest.mark.usefixtures("catalogue")


def test_placing_writes_the_order_with_todays_prices_and_publishes_order_placed(
    customer,
):
    """The lines copy the catalogue price; order.placed carries them, keyed by id."""
    with capture_events() as captured:
        order = order_place(customer=customer, lines=[("MUG", 2), ("TEE", 1)])
    captured.assert_published("order.placed")

    order.refresh_from_db()
    assert order.id.startswith("o-")
    assert order.status == OrderStatus.PLACED
    assert order.total_cents == 2 * 1200 + 2500
    assert order.currency == "EUR"
    lines = [(x.sku, x.qty, x.unit_price_cents) for x in order.lines.all()]
    assert lines == [("MUG", 2, 1200), ("TEE", 1, 2500)]

    (event,) = captured.events
    assert event.partitionkey == order.id
    assert event.data == {
        "order_id": order.id,
        "customer_id": customer.id,
        "customer_email": "ada@example.com",
        "lines": [
            {"sku": "MUG", "qty": 2, "unit_price_cents": 1200},
            {"sku": "TEE", "qty": 1, "unit_price_cents": 2500},
        ],
        "total_cents": 4900,
        "currency": "EUR",
        "placed_at": order.placed_at.isoformat(),
    }
    assert datetime.fromisoformat(event.data["placed_at"]).tzinfo is not None


def test_lines_may_be_objects_and_duplicate_skus_are_merged(customer):
    """Two lines of one SKU become one line with the quantities added."""
    with capture_events() as captured:
        order = order_place(
            customer=customer,
            lines=[{"sku": "TEE", "qty": 1}, {"sku": "MUG", "qty": 1}, ("TEE", 2)],
        )
    captured.assert_published("order.placed")
    assert [(x.sku, x.qty) for x in order.lines.all()] == [("TEE", 3), ("MUG", 1)]
    assert order.total_cents == 3 * 2500 + 1200
    assert [line["sku"] for line in captured.events[0].data["lines"]] == [
        "TEE",
        "MUG",
    ]


def test_a_later_price_change_does_not_touch_placed_orders(customer):
    """Lines keep the price of the moment the order was placed."""
    from services.checkout.actions import product_upsert

    order = order_place(customer=customer, lines=[("MUG", 1)])
    product_upsert(sku="MUG", name="Mug", price_cents=9900)
    assert order.lines.get().unit_price_cents == 1200
    assert Order.objects.get(pk=order.pk).total_cents == 1200


def test_each_order_gets_its_own_id(customer):
    ids = {order_place(customer=customer, lines=[("MUG", 1)]).id for _ in range(20)}
    assert len(ids) == 20


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "needs at least one line"),
        ([("NOPE", 1)], "line 1 (sku 'NOPE'): unknown SKU"),
        ([("MUG", 1), ("OLD", 1)], "line 2 (sku 'OLD'): no longer sold"),
        ([("MUG", 0)], "line 1 (sku 'MUG'): qty must be a whole number of at least"),
        ([("MUG", -1)], "got -1 (int)"),
        ([("MUG", "2")], "got '2' (str)"),
        ([("MUG", 1.5)], "got 1.5 (float)"),
        ([("MUG", True)], "got True (bool)"),
        ([("MUG", MAX_QTY + 1)], f"more than the {MAX_QTY}"),
        ([("MUG", MAX_QTY), ("MUG", 1)], f"{MAX_QTY + 1} in all"),
        ([("", 1)], "line 1: the sku must be a non-empty string"),
        ([("MUG",)], "line 1: expected a (sku, qty) pair"),
        (["MUG"], "line 1: expected a (sku, qty) pair or an object"),
        ([{"sku": "MUG"}], "qty must be a whole number of at least 1, got None"),
        (
            [{"sku": "MUG", "qty": 1, "unit_price_cents": 1}],
            "unexpected field(s) 'unit_price_cents'",
        ),
        ("MUG", "must be a list"),
        ({"sku": "MUG", "qty": 1}, "must be a list"),
    ],
)
def test_bad_requests_are_refused_naming_the_line_and_write_nothing(
    customer, lines, message
):
    """OrderInvalid says which line is wrong; no order, line or event is written."""
    outbox_before = OutboxEvent.objects.count()
    with capture_events() as captured, pytest.raises(OrderInvalid) as raised:
        order_place(customer=customer, lines=lines)
    assert message in str(raised.value)
    captured.assert_published()
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OutboxEvent.objects.count() == outbox_before


def test_every_bad_line_is_named_at_once(customer):
    """One refusal lists all bad lines, so the caller can fix them in one go."""
    with pytest.raises(OrderInvalid) as raised:
        order_place(
            customer=customer, lines=[("NOPE", 1), ("MUG", 1), ("TEE", 0), ("OLD", 2)]
        )
    message = str(raised.value)
    assert "line 1 (sku 'NOPE'): unknown SKU" in message
    assert "line 3 (sku 'TEE'): qty" in message
    assert "line 4 (sku 'OLD'): no longer sold" in message
    assert "line 2" not in message
    assert message.endswith("place the order again.")
    assert Order.objects.count() == 0


def test_an_unsaved_customer_is_refused(topics):
    from services.checkout.models import Customer

    ghost = Customer(id="c-9999", email="ghost@example.com", name="Ghost")
    with capture_events() as captured, pytest.raises(OrderInvalid, match="c-9999"):
        order_place(customer=ghost, lines=[("MUG", 1)])
    captured.assert_published()
    assert Order.objects.count() == 0
