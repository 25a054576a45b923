"""Errors of the inventory service: each says what was wrong and what to do."""

from __future__ import annotations


class InventoryError(Exception):
    """Base class of the inventory service's errors."""


class InvalidStock(InventoryError):
    """A quantity, SKU or order line given to an inventory action is not valid."""
