"""Seed the demo: a catalogue with popular and rare SKUs, customers, stock."""

from __future__ import annotations

import random
from dataclasses import dataclass

from services.checkout.actions import customer_register, product_upsert
from services.checkout.models import Customer, Product
from services.inventory.actions import stock_create
from services.inventory.models import StockItem

_ADJECTIVES = (
    "Classic", "Blue", "Recycled", "Travel", "Tiny", "Oak", "Linen", "Steel",
    "Ceramic", "Wool", "Retro", "Folding", "Enamel", "Cork", "Copper", "Bamboo",
)  # fmt: skip
_NOUNS = (
    "Mug", "Tee", "Notebook", "Lamp", "Tote", "Bottle", "Scarf", "Pen",
    "Candle", "Plant pot", "Cap", "Socks", "Poster", "Tray", "Clock", "Bowl",
)  # fmt: skip
_FIRST = ("Ada", "Alan", "Grace", "Edsger", "Barbara", "Ken", "Radia", "Linus")
_LAST = ("Lovelace", "Turing", "Hopper", "Dijkstra", "Liskov", "Thompson", "Perlman")


@dataclass
class SeedResult:
    """How many rows the seed created; re-running creates none."""

    products: int = 0
    customers: int = 0
    stock_items: int = 0


def sku_for(rank: int) -> str:
    """Return the SKU of the product of popularity ``rank`` (1 = most popular)."""
    return f"SKU-{rank:04d}"


def customer_email(number: int) -> str:
    """Return the seeded email of customer ``number`` (from 1)."""
    return f"customer{number:04d}@example.com"


def seed(*, products: int, customers: int, stock: int, seed: int = 0) -> SeedResult:
    """Create what is missing of the demo data; existing rows are left alone.

    SKUs are numbered by popularity (``SKU-0001`` sells most; the simulator
    weighs them by rank), so the catalogue has popular and rare SKUs.
    """
    for name, value in (("products", products), ("customers", customers)):
        if value < 1:
            raise ValueError(f"--{name} is {value}; seed at least 1.")
    if stock < 1:
        raise ValueError(f"--stock is {stock}; give every SKU at least 1 unit.")
    rng = random.Random(seed)
    result = SeedResult()
    known_skus = set(Product.objects.values_list("sku", flat=True))
    stocked = set(StockItem.objects.values_list("sku", flat=True))
    for rank in range(1, products + 1):
        sku = sku_for(rank)
        # Drawn for every rank, created or not, so that the names and prices
        # of later SKUs do not depend on what existed before.
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        price_cents = rng.randrange(300, 9000, 50)
        if sku not in known_skus:
            product_upsert(sku=sku, name=name, price_cents=price_cents)
            result.products += 1
        if sku not in stocked:
            stock_create(sku=sku, initial=stock)
            result.stock_items += 1
    emails = set(Customer.objects.values_list("email", flat=True))
    for number in range(1, customers + 1):
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
        email = customer_email(number)
        if email not in emails:
            customer_register(email=email, name=name)
            result.customers += 1
    return result
