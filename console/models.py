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


class AlertMetric(models.TextChoices):
    LAG = "lag", "lag (undelivered + pending events)"
    TIME_LAG = "time_lag_seconds", "time lag (seconds)"
    DEAD_LETTER_GROWTH = "dead_letter_growth", "dead-letter growth (new letters)"


class AlertRule(models.Model):
    """A condition on one group of one topic that fires an alert when it holds."""

    name = models.CharField(max_length=100, unique=True)
    topic = models.CharField(max_length=100)
    group = models.CharField(max_length=100)
    metric = models.CharField(max_length=30, choices=AlertMetric.choices)
    threshold = models.FloatField(help_text="Fires when the value is above this.")
    for_seconds = models.PositiveIntegerField(
        default=60,
        help_text="How long the condition must hold before the alert fires "
        "(for dead-letter growth: the window the growth is counted over).",
    )
    email = models.CharField(
        max_length=500, blank=True, help_text="Comma-separated addresses."
    )
    webhook_url = models.URLField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Evaluation state, written by console.alerts.evaluate only.
    pending_since = models.DateTimeField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    # Dead-letter growth: the last letter count seen and [epoch s, letters
    # added so far] samples covering the window (see console.alerts).
    dl_last_count = models.BigIntegerField(null=True, blank=True)
    dl_samples = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AlertState(models.TextChoices):
    FIRING = "firing", "firing"
    RESOLVED = "resolved", "resolved"


class Alert(models.Model):
    """One firing of a rule, from when it fired until it resolved by itself."""

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    state = models.CharField(
        max_length=10, choices=AlertState.choices, default=AlertState.FIRING
    )
    started_at = models.DateTimeField(db_index=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    value_at_fire = models.FloatField()
    last_value = models.FloatField(null=True, blank=True)
    # Each channel is retried on later evaluations until it succeeds.
    fired_email_sent = models.BooleanField(default=False)
    fired_webhook_sent = models.BooleanField(default=False)
    resolved_email_sent = models.BooleanField(default=False)
    resolved_webhook_sent = models.BooleanField(default=False)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["rule"],
                condition=models.Q(state="firing"),
                name="console_one_firing_alert_per_rule",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rule.name} {self.state} since {self.started_at:%Y-%m-%d %H:%M}"


class Sample(models.Model):
    """One persisted reading of a topic or group (console.tasks.record_samples).

    Raw counters, not rates: rates come from consecutive rows, so a restarted
    Daphne can redraw the last hour of its charts.
    """

    class Kind(models.TextChoices):
        TOPIC = "topic", "topic"
        GROUP = "group", "group"

    at = models.DateTimeField(db_index=True)
    kind = models.CharField(max_length=5, choices=Kind.choices)
    # A topic name, or "<topic>/<group>".
    name = models.CharField(max_length=250)
    # topic: {"added", "length"}; group: {"handled", "backlog", "time_lag_ms"}.
    values = models.JSONField(default=dict)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["kind", "name", "at"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.name}"


class ApiToken(models.Model):
    """A machine credential for the REST API and the WebSocket feed.

    The secret is shown once, at creation; only its SHA-256 is stored. A
    token is ``sy_<key_id>_<secret>``: ``key_id`` finds the row, the secret's
    digest is compared in constant time. (A fast digest suffices: the secret
    is 256 random bits, not a password.)
    """

    name = models.CharField(max_length=100)
    key_id = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="Empty: never expires."
    )
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    publish_rate = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Events per second this token may publish (bursts up to twice "
        "that). Empty: the API['PUBLISH_RATE'] setting.",
    )
    max_connections = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Live feed connections at once. Empty: the "
        "API['MAX_FEED_CONNECTIONS'] setting.",
    )

    class Meta:
        ordering = ["name", "id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} (sy_{self.key_id}_…)"


class TokenScope(models.Model):
    """What one token may do on the topics matching one pattern."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="scopes")
    topics = models.CharField(
        max_length=100,
        help_text="A topic name or a shell-style pattern: orders, order*, *.",
    )
    publish = models.BooleanField(default=False)
    subscribe = models.BooleanField(default=False, help_text="Read and tail events.")
    manage = models.BooleanField(
        default=False, help_text="Groups, position resets and dead letters."
    )

    class Meta:
        ordering = ["token", "topics"]
        constraints = [
            models.UniqueConstraint(
                fields=["token", "topics"], name="console_one_scope_per_pattern"
            )
        ]

    def __str__(self) -> str:
        granted = [n for n in ("publish", "subscribe", "manage") if getattr(self, n)]
        return f"{','.join(granted) or 'nothing'}:{self.topics}"
