"""The storefront's forms: check the shape of what was typed, nothing more.

Which SKUs may be sold is the cart actions' decision, so the add form takes
any SKU it is sent: ``cart_add`` then refuses an unknown or discontinued one
with a message the page can show.
"""

from __future__ import annotations

from django import forms

from services.checkout.lines import MAX_QTY
from services.checkout.models import Customer


class AddToCartForm(forms.Form):
    """A product and how many of it to add to the cart."""

    sku = forms.CharField(max_length=64, strip=False)
    qty = forms.IntegerField(label="Quantity", min_value=1, max_value=MAX_QTY)


class CartQtyForm(forms.Form):
    """A new quantity for a line of the cart (0 removes it)."""

    sku = forms.CharField(max_length=64, strip=False)
    qty = forms.IntegerField(label="Quantity", min_value=0, max_value=MAX_QTY)


class RemoveFromCartForm(forms.Form):
    sku = forms.CharField(max_length=64, strip=False)


class CheckoutForm(forms.Form):
    """The email of the registered customer the cart's order is for."""

    email = forms.EmailField(label="Your email")

    def clean_email(self) -> Customer:
        email = self.cleaned_data["email"].strip().lower()
        customer = Customer.objects.filter(email=email).first()
        if customer is None:
            raise forms.ValidationError(
                f"No customer is registered as {email}; check the address or "
                "register first."
            )
        return customer


def form_problem(form: forms.Form) -> str:
    """Return the form's errors as one sentence naming each field."""
    parts = []
    for name, errors in form.errors.items():
        label = form.fields[name].label or name if name in form.fields else ""
        text = " ".join(errors)
        parts.append(f"{label}: {text}" if label else text)
    return " ".join(parts)


class CancelForm(forms.Form):
    reason = forms.CharField(
        max_length=500, initial="changed my mind", label="Why cancel?"
    )
