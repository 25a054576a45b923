"""Admin: stock changes only through the restock action; reservations read-only."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from services.inventory.models import Reservation
from tests.services.inventory.conftest import levels

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("boss", "boss@example.com", "pw")
    client.force_login(user)
    return client


def test_the_restock_admin_action_adds_100_units_through_the_action(
    stock, admin_client
):
    """Selected SKUs get 100 units each, counted as restocked."""
    stock(A=1, B=2)
    response = admin_client.post(
        reverse("admin:inventory_stockitem_changelist"),
        {"action": "restock_100", "_selected_action": ["A", "B"]},
        follow=True,
    )
    assert response.status_code == 200
    assert levels("A") == (101, 0, 0)
    assert levels("B") == (102, 0, 0)


def test_stock_and_reservations_cannot_be_edited_in_admin(stock, admin_client):
    """The change forms are read-only: a POST changes nothing."""
    stock(A=1)
    Reservation.objects.create(order_id="o1", customer_id="c1", status="held", lines=[])
    url = reverse("admin:inventory_stockitem_change", args=["A"])
    assert admin_client.get(url).status_code == 200
    admin_client.post(url, {"sku": "A", "available": 50})
    assert levels("A") == (1, 0, 0)
    assert (
        admin_client.get(reverse("admin:inventory_reservation_changelist")).status_code
        == 200
    )
    assert admin_client.get(reverse("admin:inventory_stockitem_add")).status_code == 403
