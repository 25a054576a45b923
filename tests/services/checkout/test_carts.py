"""The cart actions: what each writes, that only checkout publishes, what is refused."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from eventbus.models import OutboxEvent
from eventbus.testing import capture_events
from services.checkout.actions import product_upsert
from services.checkout.carts import (
    MAX_CART_LINES,
    cart_add,
    cart_checkout,
    cart_open,
    cart_priced,
    cart_remove,
    cart_set_qty,
)
from services.checkout.exceptions import (
    CartInvalid,
    CartNotFound,
    CartNotOpen,
    OrderInvalid,
)
from services.checkout.lines import MAX_QTY
from services.checkout.models import Cart, CartLine, Customer, Order, OrderLine

pytestmark = pytest.mark.usefixtures("catalogue")


def lines_of(cart: Cart) -> list[tuple[str, int]]:
    return [(x.sku, x.qty) for x in CartLine.objects.filter(cart=cart)]


@pytest.fixture
def cart(catalogue) -> Cart:
    return cart_open()


def test_opening_a_cart_writes_an_empty_open_cart_and_publishes_nothing():
    """The id is random and unguessable; no customer until checkout."""
    with capture_events() as captured:
        first, second = cart_open(), cart_open()
    captured.assert_published()
    stored = Cart.objects.get(pk=first.pk)
    assert (stored.status, stored.customer, stored.order) == ("open", None, None)
    assert first.id.startswith("cart-") and len(first.id) == 37
    assert first.id[5:] != second.id[5:]
    assert lines_of(first) == []


def test_adding_creates_a_line_then_adds_to_it_and_publishes_nothing(cart):
    """A second add of one SKU raises its quantity; other SKUs get their own line."""
    with capture_events() as captured:
        cart_add(cart=cart, sku="MUG", qty=2)
        cart_add(cart=cart, sku="TEE", qty=1)
        line = cart_add(cart=cart, sku="MUG", qty=3)
    captured.assert_published()
    assert line.qty == 5
    assert lines_of(cart) == [("MUG", 5), ("TEE", 1)]
    assert Order.objects.count() == 0


def test_setting_a_quantity_replaces_it_and_zero_removes_the_line(cart):
    cart_add(cart=cart, sku="MUG", qty=2)
    cart_add(cart=cart, sku="TEE", qty=1)
    with capture_events() as captured:
        assert cart_set_qty(cart=cart, sku="MUG", qty=7).qty == 7
        assert cart_set_qty(cart=cart, sku="TEE", qty=0) is None
    captured.assert_published()
    assert lines_of(cart) == [("MUG", 7)]


def test_removing_deletes_the_line_only(cart):
    cart_add(cart=cart, sku="MUG", qty=2)
    cart_add(cart=cart, sku="TEE", qty=1)
    with capture_events() as captured:
        cart_remove(cart=cart, sku="MUG")
    captured.assert_published()
    assert lines_of(cart) == [("TEE", 1)]


@pytest.mark.parametrize(
    ("sku", "qty", "message"),
    [
        ("NOPE", 1, "There is no product 'NOPE' in the catalogue"),
        ("OLD", 1, "OLD (Discontinued) is no longer sold"),
        ("MUG", 0, "from 1 to 10000, got 0"),
        ("MUG", -2, "got -2"),
        ("MUG", "2", "got '2'"),
        ("MUG", 1.5, "got 1.5"),
        ("MUG", True, "got True"),
        ("MUG", MAX_QTY + 1, f"got {MAX_QTY + 1}"),
        (None, 1, "no product None"),
    ],
)
def test_bad_adds_are_refused_and_write_nothing(cart, sku, qty, message):
    """CartInvalid says what was wrong; the cart keeps its lines as they were."""
    cart_add(cart=cart, sku="TEE", qty=1)
    with capture_events() as captured, pytest.raises(CartInvalid) as raised:
        cart_add(cart=cart, sku=sku, qty=qty)
    assert message in str(raised.value)
    captured.assert_published()
    assert lines_of(cart) == [("TEE", 1)]


def test_adding_past_the_order_limit_is_refused(cart):
    """The quantity in the cart may not exceed what one order may ask for."""
    cart_add(cart=cart, sku="MUG", qty=MAX_QTY)
    with pytest.raises(CartInvalid, match=f"more than the {MAX_QTY}"):
        cart_add(cart=cart, sku="MUG", qty=1)
    assert lines_of(cart) == [("MUG", MAX_QTY)]


def test_a_cart_holds_at_most_as_many_products_as_an_order(cart):
    for number in range(MAX_CART_LINES):
        product_upsert(sku=f"P{number}", name=f"P{number}", price_cents=1)
        CartLine.objects.create(cart=cart, sku=f"P{number}", qty=1)
    with pytest.raises(CartInvalid, match=f"already has {MAX_CART_LINES}"):
        cart_add(cart=cart, sku="MUG", qty=1)
    cart_add(cart=cart, sku="P0", qty=1)  # more of a product already in: fine


@pytest.mark.parametrize("qty", [-1, MAX_QTY + 1, "3", None])
def test_bad_quantities_to_set_are_refused(cart, qty):
    cart_add(cart=cart, sku="MUG", qty=2)
    with pytest.raises(CartInvalid, match="whole number from 0"):
        cart_set_qty(cart=cart, sku="MUG", qty=qty)
    assert lines_of(cart) == [("MUG", 2)]


@pytest.mark.parametrize("change", ["set", "remove"])
def test_changing_a_line_the_cart_does_not_have_is_not_found(cart, change):
    cart_add(cart=cart, sku="MUG", qty=2)
    with pytest.raises(CartNotFound, match="has no line for 'TEE'"):
        if change == "set":
            cart_set_qty(cart=cart, sku="TEE", qty=1)
        else:
            cart_remove(cart=cart, sku="TEE")
    assert lines_of(cart) == [("MUG", 2)]


def test_a_cart_that_was_never_saved_is_not_found():
    with pytest.raises(CartNotFound, match="no cart 'cart-nope'"):
        cart_add(cart=Cart(id="cart-nope"), sku="MUG", qty=1)
    assert Cart.objects.count() == 0


def test_checking_out_places_the_order_publishes_order_placed_and_closes_the_cart(
    cart, customer
):
    """One order.placed with the cart's lines at today's prices; the cart links it."""
    cart_add(cart=cart, sku="MUG", qty=2)
    cart_add(cart=cart, sku="TEE", qty=1)
    product_upsert(sku="MUG", name="Mug", price_cents=1300)  # price at checkout
    with capture_events() as captured:
        order = cart_checkout(cart=cart, customer=customer)
    captured.assert_published("order.placed")
    (event,) = captured.events
    assert event.partitionkey == order.id
    assert event.data["order_id"] == order.id
    assert event.data["customer_id"] == customer.id
    assert event.data["lines"] == [
        {"sku": "MUG", "qty": 2, "unit_price_cents": 1300},
        {"sku": "TEE", "qty": 1, "unit_price_cents": 2500},
    ]
    assert event.data["total_cents"] == 5100
    stored = Order.objects.get()
    assert (stored.id, stored.status, stored.total_cents) == (order.id, "placed", 5100)
    assert [(x.sku, x.qty) for x in stored.lines.all()] == [("MUG", 2), ("TEE", 1)]
    closed = Cart.objects.get(pk=cart.pk)
    assert (closed.status, closed.customer, closed.order) == (
        "checked_out",
        customer,
        stored,
    )
    assert cart.status == "checked_out"  # the caller's copy is updated too


def test_checking_out_twice_places_one_order(cart, customer):
    """The second checkout, even from a stale copy of the cart, is refused."""
    cart_add(cart=cart, sku="MUG", qty=1)
    stale = Cart.objects.get(pk=cart.pk)
    order = cart_checkout(cart=cart, customer=customer)
    with capture_events() as captured, pytest.raises(CartNotOpen) as raised:
        cart_checkout(cart=stale, customer=customer)
    assert f"already checked out as order {order.id}" in str(raised.value)
    captured.assert_published()
    assert Order.objects.count() == 1


@pytest.mark.parametrize(
    "change",
    [
        lambda cart: cart_add(cart=cart, sku="TEE", qty=1),
        lambda cart: cart_set_qty(cart=cart, sku="MUG", qty=5),
        lambda cart: cart_remove(cart=cart, sku="MUG"),
    ],
    ids=["add", "set", "remove"],
)
def test_a_checked_out_cart_cannot_change(cart, customer, change):
    cart_add(cart=cart, sku="MUG", qty=1)
    stale = Cart.objects.get(pk=cart.pk)
    cart_checkout(cart=cart, customer=customer)
    with pytest.raises(CartNotOpen, match="open a new cart"):
        change(stale)
    assert lines_of(cart) == [("MUG", 1)]


def _assert_nothing_placed(cart: Cart, outbox: int) -> None:
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0
    assert OutboxEvent.objects.count() == outbox
    stored = Cart.objects.get(pk=cart.pk)
    assert (stored.status, stored.customer, stored.order) == ("open", None, None)


def test_an_empty_cart_is_refused_at_checkout(cart, customer):
    outbox = OutboxEvent.objects.count()
    with capture_events() as captured, pytest.raises(CartInvalid, match="is empty"):
        cart_checkout(cart=cart, customer=customer)
    captured.assert_published()
    _assert_nothing_placed(cart, outbox)


def test_a_product_discontinued_since_it_was_added_refuses_the_checkout(cart, customer):
    """The message names the SKU and says to remove it; nothing is placed."""
    cart_add(cart=cart, sku="MUG", qty=1)
    cart_add(cart=cart, sku="TEE", qty=1)
    product_upsert(sku="TEE", name="T-shirt", price_cents=2500, active=False)
    outbox = OutboxEvent.objects.count()
    with capture_events() as captured, pytest.raises(CartInvalid) as raised:
        cart_checkout(cart=cart, customer=customer)
    assert "'TEE' (T-shirt) is no longer sold" in str(raised.value)
    assert "Remove these lines" in str(raised.value)
    assert "MUG" not in str(raised.value)
    captured.assert_published()
    _assert_nothing_placed(cart, outbox)
    cart_remove(cart=cart, sku="TEE")
    assert cart_checkout(cart=cart, customer=customer).total_cents == 1200


def test_an_unregistered_customer_is_refused_at_checkout(cart, topics):
    cart_add(cart=cart, sku="MUG", qty=1)
    ghost = Customer(id="c-9999", email="ghost@example.com", name="Ghost")
    outbox = OutboxEvent.objects.count()
    with capture_events() as captured, pytest.raises(OrderInvalid, match="c-9999"):
        cart_checkout(cart=cart, customer=ghost)
    captured.assert_published()
    _assert_nothing_placed(cart, outbox)


def test_the_priced_cart_uses_todays_prices_and_skips_what_is_not_sold(cart):
    cart_add(cart=cart, sku="MUG", qty=2)
    cart_add(cart=cart, sku="TEE", qty=1)
    product_upsert(sku="TEE", name="T-shirt", price_cents=2500, active=False)
    priced = cart_priced(cart)
    assert [(x.sku, x.name, x.qty, x.unit_price_cents) for x in priced.lines] == [
        ("MUG", "Mug", 2, 1200),
        ("TEE", "T-shirt", 1, None),
    ]
    assert (priced.total_cents, priced.count) == (2400, 3)


@pytest.mark.django_db(transaction=True)
def test_a_checkout_waits_for_a_concurrent_one_and_then_is_refused(customer):
    """The cart row lock makes a second checkout wait, then see the order placed."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no row locks: one writer at a time, by design")
    cart = cart_open()
    cart_add(cart=cart, sku="MUG", qty=1)
    outcome: list[BaseException | Order] = []

    def second() -> None:
        try:
            outcome.append(cart_checkout(cart=cart_copy, customer=customer))
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            outcome.append(exc)
        finally:
            connection.close()

    cart_copy = Cart.objects.get(pk=cart.pk)
    with transaction.atomic():
        first = cart_checkout(cart=cart, customer=customer)
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(0.5)
        assert thread.is_alive(), "the second checkout did not wait for the lock"
    thread.join(10)
    (result,) = outcome
    assert isinstance(result, CartNotOpen), result
    assert first.id in str(result)
    assert list(Order.objects.values_list("id", flat=True)) == [first.id]
