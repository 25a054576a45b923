"""customer_register and product_upsert: ids, validation, updates."""

from __future__ import annotations

import pytest

from eventbus.testing import capture_events
from services.checkout.actions import customer_register, product_upsert
from services.checkout.exceptions import CustomerInvalid, ProductInvalid
from services.checkout.models import Customer, Product

pytestmark = pytest.mark.usefixtures("topics")


def test_customers_get_sequential_ids_and_normalised_emails():
    with capture_events() as captured:
        ada = customer_register(email=" Ada@Example.COM ", name=" Ada ")
        bob = customer_register(email="bob@example.com", name="Bob")
    captured.assert_published()
    assert (ada.id, ada.email, ada.name) == ("c-0001", "ada@example.com", "Ada")
    assert bob.id == "c-0002"


def test_ids_keep_counting_past_four_digits():
    Customer.objects.create(id="c-9999", email="x@example.com", name="X")
    assert customer_register(email="y@example.com", name="Y").id == "c-10000"
    assert customer_register(email="z@example.com", name="Z").id == "c-10001"


@pytest.mark.parametrize(
    ("email", "name", "message"),
    [
        ("not-an-email", "Ada", "is not a valid email address"),
        ("", "Ada", "is not a valid email address"),
        ("ada@example.com", "  ", "needs a name"),
    ],
)
def test_bad_registrations_are_refused(email, name, message):
    with pytest.raises(CustomerInvalid, match=message):
        customer_register(email=email, name=name)
    assert Customer.objects.count() == 0


def test_an_email_registers_once():
    first = customer_register(email="ada@example.com", name="Ada")
    with pytest.raises(CustomerInvalid, match=f"already registered as {first.id}"):
        customer_register(email="ADA@example.com", name="Ada again")
    assert Customer.objects.count() == 1


def test_upsert_creates_then_updates_a_product():
    product_upsert(sku="MUG", name="Mug", price_cents=1200)
    with capture_events() as captured:
        product_upsert(sku="MUG", name="Big mug", price_cents=1500, active=False)
    captured.assert_published()
    mug = Product.objects.get()
    assert (mug.sku, mug.name, mug.price_cents, mug.active) == (
        "MUG",
        "Big mug",
        1500,
        False,
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sku": ""}, "SKU '' is not valid"),
        ({"sku": " MUG"}, "without surrounding spaces"),
        ({"name": ""}, "needs a name"),
        ({"price_cents": -1}, "use >= 0"),
        ({"price_cents": "12"}, "whole number of cents"),
        ({"price_cents": 12.5}, "whole number of cents"),
    ],
)
def test_bad_products_are_refused(fields, message):
    with pytest.raises(ProductInvalid, match=message):
        product_upsert(**{"sku": "MUG", "name": "Mug", "price_cents": 1, **fields})
    assert Product.objects.count() == 0
