"""Parse and render the shop API's bodies; checking SKUs is order_place's job."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from services.checkout.lines import MAX_QTY
from services.checkout.models import Order, OrderLine

# Far above any real basket; a body with more lines is refused before any query.
MAX_LINES = 100


class StrictIntegerField(serializers.IntegerField):
    """An integer that must be a JSON number, not "2", 2.5 or true."""

    def to_internal_value(self, data: Any) -> int:
        # DRF's IntegerField accepts "2" and 2.0; an API client sending those
        # has a bug worth reporting rather than guessing its intent.
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return int(super().to_internal_value(data))


class StrictCharField(serializers.CharField):
    """A string that must be a JSON string: DRF would turn 7 into "7"."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class LineSerializer(serializers.Serializer):
    sku = StrictCharField(max_length=64, trim_whitespace=False)
    qty = StrictIntegerField(min_value=1, max_value=MAX_QTY)


class PlaceOrderSerializer(serializers.Serializer):
    customer_id = StrictCharField(max_length=20)
    lines = serializers.ListField(
        child=LineSerializer(), min_length=1, max_length=MAX_LINES
    )


class SetQtySerializer(serializers.Serializer):
    qty = StrictIntegerField(min_value=0, max_value=MAX_QTY)


class CheckoutSerializer(serializers.Serializer):
    # A customer id ("c-0001") or a registered email address.
    customer = StrictCharField(max_length=254)


class CancelSerializer(serializers.Serializer):
    reason = StrictCharField(max_length=500)


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["sku", "qty", "unit_price_cents"]


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "status",
            "lines",
            "total_cents",
            "currency",
            "placed_at",
            "status_reason",
        ]
        read_only_fields = fields
