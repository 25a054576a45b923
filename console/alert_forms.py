"""The alert rule form: a rule must name a topic and a group that exist."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from console.models import AlertRule
from eventbus import get_topic, list_groups
from eventbus.exceptions import BusUnavailable, TopicError

# The fields an admin edits, also the before/after of the audit entries.
RULE_FIELDS = [
    "name",
    "topic",
    "group",
    "metric",
    "threshold",
    "for_seconds",
    "email",
    "webhook_url",
    "enabled",
]


def rule_snapshot(rule: AlertRule) -> dict[str, Any]:
    """Return the rule's editable fields as a JSON-ready dict (for the audit)."""
    return {name: getattr(rule, name) for name in RULE_FIELDS}


class AlertRuleForm(forms.ModelForm):
    """Create or change an alert rule."""

    webhook_url = forms.URLField(
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text="Receives a JSON POST when the alert fires and when it resolves.",
    )

    class Meta:
        model = AlertRule
        fields = RULE_FIELDS
        widgets = {
            "threshold": forms.NumberInput(attrs={"step": "any", "min": "0"}),
        }

    def clean_threshold(self) -> float:
        value = self.cleaned_data["threshold"]
        if value < 0:
            raise ValidationError("The threshold is a count or seconds: use 0 or more.")
        return float(value)

    def clean_email(self) -> str:
        raw = self.cleaned_data.get("email", "")
        addresses = [a.strip() for a in raw.split(",") if a.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                raise ValidationError(
                    f"'{address}' is not an email address; separate several "
                    "addresses with commas."
                ) from None
        return ", ".join(addresses)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        topic, group = cleaned.get("topic"), cleaned.get("group")
        if not topic or not group:
            return cleaned
        try:
            get_topic(topic)
        except TopicError as exc:
            self.add_error("topic", str(exc))
            return cleaned
        try:
            names = sorted({info.name for info in list_groups(topic)})
        except BusUnavailable as exc:
            self.add_error(
                None, f"The group could not be checked: {exc} Save again later."
            )
            return cleaned
        if group not in names:
            self.add_error(
                "group",
                f"No consumer group '{group}' on topic '{topic}' (groups: "
                f"{', '.join(names) or 'none'}). Pick one of those.",
            )
        return cleaned
