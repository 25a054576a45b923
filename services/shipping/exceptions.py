"""Errors of the shipping service; messages say what was wrong and what to do."""

from __future__ import annotations


class ShippingError(Exception):
    """Base class of shipping's errors."""


class InvalidShipment(ShippingError):
    """The input of a shipping action is malformed."""


class ShipmentNotFound(ShippingError):
    """No shipment has the given id."""
