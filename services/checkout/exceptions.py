"""Errors of the checkout service; messages say what was wrong and what to do."""

from __future__ import annotations


class CheckoutError(Exception):
    """Base class of checkout's errors."""


class OrderInvalid(CheckoutError):
    """The order request is malformed or names products that cannot be sold."""


class OrderNotCancellable(CheckoutError):
    """The order is past the point where checkout may cancel it."""


class OrderNotFound(CheckoutError):
    """An event or request names an order this service does not have."""


class CustomerInvalid(CheckoutError):
    """A customer registration was refused (bad email, name, or taken email)."""


class ProductInvalid(CheckoutError):
    """A product upsert was refused (bad SKU, name or price)."""


class CartInvalid(CheckoutError):
    """A cart change or checkout was refused (unknown SKU, bad qty, empty cart)."""


class CartNotFound(CheckoutError):
    """A request names a cart, or a line of a cart, that does not exist."""


class CartNotOpen(CheckoutError):
    """The cart was already checked out; it can no longer change."""
