"""manage.py retail check: the invariants of docs/retail.md, after draining."""

from __future__ import annotations

from collections.abc import Callable

import orjson
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from eventbus import publish
from eventbus.groups import create_group
from eventbus.models import OutboxEvent
from services.checkout.models import Order
from services.contact.models import Notification
from services.inventory.models import Reservation, StockItem
from services.retail.invariants import check_all
from services.shipping.models import Shipment
from tests.services.retail.conftest import Shop

pytestmark = pytest.mark.django_db


def test_consistent_shop_passes(shop, capsys) -> None:
    """A shop where every order ended properly has no problems."""
    assert check_all() == []
    call_command("retail", "check")
    assert "All invariants hold" in capsys.readouterr().out


def _drop_stock_constraints() -> None:
    # The database refuses unconserved or negative stock; drop its checks (in
    # the test's transaction) to see that retail check catches them too.
    if connection.vendor == "sqlite":
        # SQLite cannot alter a table inside the test's transaction, and with
        # the constraint in place the broken state cannot be built at all;
        # make test runs this case on PostgreSQL (service tests are db_heavy).
        pytest.skip("needs a database that can drop a constraint in a transaction")
    with connection.schema_editor() as editor:
        for constraint in StockItem._meta.constraints:
            editor.remove_constraint(StockItem, constraint)


def _set(model: type, pk_field: str, pk: str, **values: object) -> None:
    assert model.objects.filter(**{pk_field: pk}).update(**values) == 1


BREAKS: dict[str, tuple[Callable[[Shop], None], str, str]] = {
    "order stuck placed": (
        lambda s: _set(Order, "id", s.cancelled_early, status="placed"),
        "order",
        "not finished",
    ),
    "cancelled but still held": (
        lambda s: _set(Reservation, "order_id", s.released, status="held"),
        "order",
        "not released",
    ),
    "cancelled but shipped": (
        lambda s: _set(Shipment, "order_id", s.released, status="dispatched"),
        "order",
        "not cancelled",
    ),
    "statuses disagree": (
        lambda s: _set(Shipment, "order_id", s.delivered, status="dispatched"),
        "order",
        "shipment dispatched (want delivered)",
    ),
    "rejected but reserved": (
        lambda s: _set(Reservation, "order_id", s.rejected, status="held"),
        "order",
        "reservation held",
    ),
    "held reservation, cancelled shipment": (
        lambda s: (
            _set(Reservation, "order_id", s.released, status="held"),
            _set(StockItem, "sku", "SKU-A", available=7, reserved=2),
        ),
        "reservation",
        "reservation held but shipment cancelled",
    ),
    "reservation without order": (
        lambda s: Reservation.objects.create(
            order_id="o-ghost", customer_id="c", status="rejected", lines=[]
        ),
        "reservation",
        "no such order",
    ),
    "reserved units nobody holds": (
        lambda s: _set(StockItem, "sku", "SKU-A", available=8, reserved=1),
        "stock",
        "reserved = 1, but reservations add up to 0",
    ),
    "units not conserved": (
        lambda s: (
            _drop_stock_constraints(),
            _set(StockItem, "sku", "SKU-A", available=50),
        ),
        "stock",
        "= 54, but initial+restocked = 13",
    ),
    "second confirmation": (
        lambda s: Notification.objects.create(
            kind="order_confirmed",
            order_id=s.delivered,
            customer_id="c-0001",
            subject="s",
            body="b",
            cause_event_id="ev-other",
            cause_type="order.placed",
        ),
        "notification",
        "2 order_confirmed notifications",
    ),
    "missing confirmation": (
        lambda s: Notification.objects.filter(
            order_id=s.dispatched, kind="order_confirmed"
        ).delete(),
        "notification",
        "no order_confirmed",
    ),
    "rejection not notified": (
        lambda s: Notification.objects.filter(kind="order_rejected").delete(),
        "notification",
        "no order_rejected",
    ),
    "notification of unknown order": (
        lambda s: _set(
            Notification,
            "cause_event_id",
            "ev-o-rejected-order_rejected-1",
            order_id="o-ghost",
        ),
        "notification",
        "not in checkout",
    ),
    "shipment without order": (
        lambda s: Shipment.objects.create(
            id="shp_ghost", order_id="o-ghost", customer_id="c", status="cancelled"
        ),
        "shipment",
        "order o-ghost not in checkout",
    ),
}


@pytest.mark.parametrize("name", list(BREAKS))
def test_each_inconsistency_is_reported(shop, name, capsys) -> None:
    """Each broken invariant is named with its id, and the command fails."""
    breaking, kind, message = BREAKS[name]
    breaking(shop)
    problems = check_all()
    assert any(p.kind == kind and message in p.message for p in problems), problems
    with pytest.raises(CommandError, match="invariant problem") as failed:
        call_command("retail", "check", "--json")
    assert failed.value.returncode == 1
    report = orjson.loads(capsys.readouterr().out)
    assert report["drained"] is True
    assert {p["ref"] for p in report["problems"]} == {p.ref for p in problems}


def test_unrelayed_outbox_is_not_drained(shop) -> None:
    """Events still in the outbox mean: not drained yet, exit status 2."""
    OutboxEvent.objects.create(event_id="e1", topic="orders", partition=0, payload=b"")
    with pytest.raises(CommandError, match="not drained yet: 1 outbox") as failed:
        call_command("retail", "check")
    assert failed.value.returncode == 2


def test_group_backlog_is_not_drained(shop) -> None:
    """A group that has not consumed every event means: not drained yet."""
    for group in ("contact", "inventory", "shipping"):
        create_group("orders", group, start="latest")
    data = {"order_id": "o-1", "customer_id": "c-0001", "reason": "r"}
    publish("orders", "order.cancelled", data, key="o-1")
    with pytest.raises(CommandError, match="group inventory on orders: backlog 1"):
        call_command("retail", "check")


def test_missing_group_is_not_drained(shop) -> None:
    """Events on a topic whose subscribed group was never created are waiting."""
    data = {"order_id": "o-1", "customer_id": "c-0001", "reason": "r"}
    publish("orders", "order.cancelled", data, key="o-1")
    with pytest.raises(CommandError, match="group shipping on orders does not exist"):
        call_command("retail", "check")
