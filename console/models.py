"""The console's own records: the audit trail of operator actions."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class AuditEntry(models.Model):
    """One mutating action on the bus: who, when, what, and before/after."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept as text too, so the entry still says who after the user is deleted.
    username = models.CharField(max_length=150, blank=True)
    # Where the action came from: console, admin, api, cli.
    via = models.CharField(max_length=20, default="console")
    # A dotted verb: group.reset, deadletter.redrive, deadletter.purge,
    # event.publish, topic.change, alert_rule.change, ...
    action = models.CharField(max_length=50, db_index=True)
    # What it acted on, e.g. "orders / inventory" or "topic orders".
    target = models.CharField(max_length=300)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        who = self.username or "?"
        return f"{self.at:%Y-%m-%d %H:%M:%S} {who} {self.action} {self.target}"
