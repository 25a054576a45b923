"""Checkout's own data: customers, the catalogue it sells from, carts, orders."""

from __future__ import annotations

from django.db import models


class Customer(models.Model):
    """A customer who can place orders; ids read like ``c-0001``."""

    id = models.CharField(max_length=20, primary_key=True)
    email = models.EmailField(unique=True)
    name = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id} {self.name} <{self.email}>"


class Product(models.Model):
    """A sellable SKU and its current price; orders copy the price when placed."""

    sku = models.CharField(max_length=64, primary_key=True)
    name = models.CharField(max_length=200)
    price_cents = models.PositiveIntegerField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class OrderStatus(models.TextChoices):
    PLACED = "placed"
    RESERVED = "reserved"
    REJECTED = "rejected"
    DISPATCHED = "dispatched"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Order(models.Model):
    """An order as the storefront shows it; status follows stock and shipping."""

    id = models.CharField(max_length=40, primary_key=True)  # "o-" + UUIDv7
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="orders"
    )
    status = models.CharField(
        max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED
    )
    # Why the order is rejected or cancelled (empty otherwise).
    status_reason = models.CharField(max_length=500, blank=True)
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    total_cents = models.PositiveBigIntegerField()
    currency = models.CharField(max_length=3, default="EUR")
    placed_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # UUIDv7 ids sort by time of placing.
        ordering = ["-id"]
        indexes = [models.Index(fields=["customer", "-placed_at"])]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class OrderLine(models.Model):
    """One SKU of an order, with the unit price at the time of placing."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    qty = models.PositiveIntegerField()
    unit_price_cents = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["order", "sku"], name="one_line_per_sku")
        ]

    def __str__(self) -> str:
        return f"{self.qty} x {self.sku}"


class CartStatus(models.TextChoices):
    OPEN = "open"
    CHECKED_OUT = "checked_out"


class Cart(models.Model):
    """What a shopper means to buy; checking it out places one order.

    The customer is known only at checkout (the storefront asks for the email
    then), so it stays empty while the cart is open.
    """

    id = models.CharField(max_length=40, primary_key=True)  # "cart-" + random hex
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="carts",
        null=True,
        blank=True,
    )
    status = models.CharField(
        max_length=20, choices=CartStatus.choices, default=CartStatus.OPEN
    )
    order = models.OneToOneField(
        Order,
        on_delete=models.PROTECT,
        related_name="cart",
        null=True,
        blank=True,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"


class CartLine(models.Model):
    """One SKU in a cart; prices are read from the catalogue when shown or placed."""

    cart = models.ForeignKey(Cart, on_delete=models.CASCADE, related_name="lines")
    sku = models.CharField(max_length=64)
    qty = models.PositiveIntegerField()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "sku"], name="one_cart_line_per_sku"
            ),
            models.CheckConstraint(
                condition=models.Q(qty__gte=1), name="cart_line_qty_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.qty} x {self.sku}"
