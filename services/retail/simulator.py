"""Realistic checkout traffic: orders, some cancellations, some bad requests.

Everything goes through checkout's actions, exactly as the storefront and
the shop API would: about half of the orders are placed directly
(``order_place``), the others through a cart (``cart_open``, ``cart_add``,
sometimes a changed quantity or a removed line, ``cart_checkout``).
Stock-outs happen by themselves when popular SKUs run out, and malformed
requests (including checking out an empty cart) must be refused by the
actions.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from services.checkout.actions import order_cancel, order_place
from services.checkout.carts import (
    cart_add,
    cart_checkout,
    cart_open,
    cart_remove,
    cart_set_qty,
)
from services.checkout.exceptions import CheckoutError, OrderNotCancellable
from services.checkout.models import Customer, Order, Product

logger = logging.getLogger("services.retail")

CANCEL_SHARE = 0.05
MALFORMED_SHARE = 0.03
ZIPF_EXPONENT = 1.1
# Cancel among the last orders only: customers change their minds quickly.
RECENT = 50
MALFORMED_KINDS = ("unknown_sku", "qty_zero", "empty", "empty_cart")
# Orders placed through a cart, and of those, carts changed before checkout.
CART_SHARE = 0.5
CART_CHANGE_SHARE = 0.3
CANCEL_REASONS = ("changed my mind", "found it cheaper", "ordered twice")


class NothingToSell(Exception):
    """The catalogue or the customer list is empty."""


@dataclass
class Stats:
    """What the simulator did; ``rejected`` counts refusals by reason."""

    placed: int = 0
    # Of the orders placed, how many went through a cart.
    placed_via_cart: int = 0
    cancelled: int = 0
    cancel_refused: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    # Malformed requests the actions accepted, and unexpected exceptions:
    # both are bugs to look at, so they are counted apart.
    malformed_accepted: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    actions: int = 0
    elapsed: float = 0.0
    interrupted: bool = False

    @property
    def rate(self) -> float:
        return self.actions / self.elapsed if self.elapsed > 0 else 0.0


def zipf_weights(count: int, exponent: float = ZIPF_EXPONENT) -> list[float]:
    """Return Zipf-like weights for ranks 1..count (rank 1 the heaviest)."""
    return [1 / rank**exponent for rank in range(1, count + 1)]


class Simulator:
    """Choose and run one storefront request at a time, deterministically."""

    def __init__(self, *, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        # Sorted by SKU: the seed numbers SKUs by popularity (retail/seed.py).
        self.skus = list(
            Product.objects.filter(active=True)
            .order_by("sku")
            .values_list("sku", flat=True)
        )
        self.customers = list(Customer.objects.order_by("id"))
        if not self.skus or not self.customers:
            raise NothingToSell(
                f"The shop has {len(self.skus)} products for sale and "
                f"{len(self.customers)} customers; run 'manage.py retail seed' "
                "first."
            )
        self.weights = zipf_weights(len(self.skus))
        self.recent: deque[str] = deque(maxlen=RECENT)
        self.stats = Stats()

    def step(self) -> str:
        """Run one request; return what it was (for progress displays)."""
        self.stats.actions += 1
        roll = self.rng.random()
        if roll < MALFORMED_SHARE:
            kind = self.rng.choice(MALFORMED_KINDS)
            self._guarded(kind, lambda: self._malformed(kind))
            return kind
        if roll < MALFORMED_SHARE + CANCEL_SHARE and self.recent:
            self._guarded("cancel", self._cancel)
            return "cancel"
        self._guarded("place", self._place)
        return "place"

    def _guarded(self, what: str, run: Callable[[], None]) -> None:
        try:
            run()
        except CheckoutError as exc:
            # A refusal of a well-formed request: a bug in the simulator's
            # choices or in checkout; named by class so it stands out.
            self.stats.errors[f"{what}: {type(exc).__name__}"] += 1
            logger.warning("%s was refused: %s", what, exc)
        except Exception as exc:  # noqa: BLE001 - the run goes on; summary shows it
            self.stats.errors[f"{what}: {type(exc).__name__}"] += 1
            logger.exception("%s failed", what)

    def _place(self) -> None:
        count = self.rng.choices((1, 2, 3, 4), weights=(50, 30, 15, 5))[0]
        skus = set(self.rng.choices(self.skus, weights=self.weights, k=count))
        lines = [(sku, self.rng.choices((1, 2, 3), (80, 15, 5))[0]) for sku in skus]
        customer = self.rng.choice(self.customers)
        if self.rng.random() < CART_SHARE:
            order = self._through_cart(customer, lines)
            self.stats.placed_via_cart += 1
        else:
            order = order_place(customer=customer, lines=lines)
        self.stats.placed += 1
        self.recent.append(order.id)

    def _through_cart(self, customer: Customer, lines: list[tuple[str, int]]) -> Order:
        cart = cart_open()
        for sku, qty in lines:
            cart_add(cart=cart, sku=sku, qty=qty)
        if self.rng.random() < CART_CHANGE_SHARE:
            sku, _ = self.rng.choice(lines)
            if len(lines) > 1 and self.rng.random() < 0.3:
                cart_remove(cart=cart, sku=sku)
            else:
                cart_set_qty(cart=cart, sku=sku, qty=self.rng.choice((1, 2, 3)))
        return cart_checkout(cart=cart, customer=customer)

    def _cancel(self) -> None:
        order_id = self.rng.choice(self.recent)
        self.recent.remove(order_id)
        order = Order.objects.get(pk=order_id)
        try:
            order_cancel(order=order, reason=self.rng.choice(CANCEL_REASONS))
        except OrderNotCancellable:
            # Rejected or already dispatched: the refusal is the right answer.
            self.stats.cancel_refused += 1
            return
        self.stats.cancelled += 1

    def _malformed(self, kind: str) -> None:
        lines: list[Any] = {
            "unknown_sku": [("NO-SUCH-SKU", 1)],
            "qty_zero": [(self.rng.choice(self.skus), 0)],
            "empty": [],
            "empty_cart": [],
        }[kind]
        customer = self.rng.choice(self.customers)
        try:
            if kind == "empty_cart":
                cart_checkout(cart=cart_open(), customer=customer)
            else:
                order_place(customer=customer, lines=lines)
        except CheckoutError:
            self.stats.rejected[kind] += 1
            return
        self.stats.malformed_accepted[kind] += 1


def run(
    simulator: Simulator,
    *,
    rate: float,
    duration: float,
    on_step: Callable[[str], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Stats:
    """Run requests at about ``rate`` per second for ``duration`` seconds.

    Requests are paced against the start time, not after one another, so a
    slow request is caught up on instead of lowering the rate. Ctrl-C stops
    the run after the request under way; the stats say it was interrupted.
    """
    if rate <= 0 or duration <= 0:
        raise ValueError(
            f"rate={rate} and duration={duration}: both must be above 0, "
            "e.g. --rate 50 --duration 60."
        )
    stats = simulator.stats
    start = clock()
    try:
        while (now := clock()) - start < duration:
            due = start + stats.actions / rate
            if due > now:
                sleep(min(due - now, duration - (now - start)))
                continue
            what = simulator.step()
            if on_step is not None:
                on_step(what)
    except KeyboardInterrupt:
        stats.interrupted = True
    stats.elapsed = clock() - start
    return stats
