"""The storefront's forms: check the shape of what was typed, nothing more.

Which SKUs may be sold is ``order_place``'s decision, so the order form
passes on every ``qty_<sku>`` it was sent, even for a SKU no longer listed:
the action then refuses it with a message the page can show.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import forms

from services.checkout.lines import MAX_QTY
from services.checkout.models import Customer, Product

QTY_PREFIX = "qty_"


class OrderForm(forms.Form):
    """A customer's email and a quantity per SKU (0 or empty: not wanted)."""

    email = forms.EmailField(label="Your email")

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        products: Iterable[Product] = (),
    ) -> None:
        super().__init__(data)
        skus = [product.sku for product in products]
        skus += [
            key[len(QTY_PREFIX) :]
            for key in (data or {})
            if key.startswith(QTY_PREFIX) and key[len(QTY_PREFIX) :] not in skus
        ]
        for sku in skus:
            self.fields[QTY_PREFIX + sku] = forms.IntegerField(
                label=sku, required=False, min_value=0, max_value=MAX_QTY
            )

    def clean_email(self) -> Customer:
        email = self.cleaned_data["email"].strip().lower()
        customer = Customer.objects.filter(email=email).first()
        if customer is None:
            raise forms.ValidationError(
                f"No customer is registered as {email}; check the address or "
                "register first."
            )
        return customer

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.errors and not self.lines():
            raise forms.ValidationError(
                "Choose a quantity of at least 1 for one product or more."
            )
        return cleaned

    def lines(self) -> list[tuple[str, int]]:
        """Return the (sku, qty) pairs with a quantity above 0."""
        return [
            (name[len(QTY_PREFIX) :], qty)
            for name, qty in self.cleaned_data.items()
            if name.startswith(QTY_PREFIX) and qty
        ]


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500, initial="changed my mind", label="Why cancel?"
    )
