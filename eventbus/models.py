"""Bus objects kept in the app's database: topics, schemas, groups, outbox."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

TOPIC_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
GROUP_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_PARTITIONS = 1024

name_validator = RegexValidator(
    TOPIC_NAME_RE,
    "Use lower-case letters, digits, '.', '_' and '-', starting with a letter "
    "or digit (e.g. 'orders' or 'stock.levels').",
)


class OverflowPolicy(models.TextChoices):
    BLOCK_TRIM = "block-trim", "block-trim (never trim unprocessed events)"
    DROP_OLDEST = "drop-oldest", "drop-oldest (trim by age/length regardless)"


class Topic(models.Model):
    """A partitioned, durable log: one Redis stream per partition."""

    name = models.CharField(max_length=100, unique=True, validators=[name_validator])
    partitions = models.PositiveSmallIntegerField(
        default=4,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_PARTITIONS)],
        help_text="Can grow, never shrink. Keys map to hash(key) % partitions.",
    )
    retention_ms = models.BigIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Keep events at most this many milliseconds (empty: no age limit).",
    )
    retention_max_len = models.BigIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Keep at most this many events per partition (empty: no limit).",
    )
    overflow_policy = models.CharField(
        max_length=20, choices=OverflowPolicy.choices, default=OverflowPolicy.BLOCK_TRIM
    )
    description = models.TextField(blank=True)
    owner = models.CharField(
        max_length=100, blank=True, help_text="The service that owns the topic."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.pk:
            before = Topic.objects.filter(pk=self.pk).values_list(
                "partitions", flat=True
            )
            old = before.first()
            if old is not None and self.partitions < old:
                raise ValidationError(
                    {
                        "partitions": (
                            f"Topic '{self.name}' has {old} partitions; partitions "
                            "can grow but never shrink. Keep it at "
                            f"{old} or more, or create a new topic."
                        )
                    }
                )
            name_before = Topic.objects.filter(pk=self.pk).values_list(
                "name", flat=True
            )
            if name_before.first() not in (None, self.name):
                raise ValidationError(
                    {"name": "A topic cannot be renamed; create a new topic instead."}
                )


class EventSchema(models.Model):
    """A registered JSON Schema for one version of one event type."""

    type = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    topic = models.CharField(max_length=100)
    schema = models.JSONField()
    description = models.TextField(blank=True)
    producer = models.CharField(max_length=100, blank=True)
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["type", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["type", "version"], name="unique_type_version"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} v{self.version}"


class ConsumerGroup(models.Model):
    """A consumer group on a topic, recorded so it can be repaired and listed."""

    topic = models.CharField(max_length=100)
    name = models.CharField(max_length=100, validators=[name_validator])
    start = models.CharField(
        max_length=40,
        default="latest",
        help_text="Where the group started: earliest, latest or a timestamp (ms).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["topic", "name"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "name"], name="unique_topic_group")
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.topic}"


class OutboxEvent(models.Model):
    """An event written in the producer's transaction, published by the relay."""

    event_id = models.CharField(max_length=36, unique=True)
    topic = models.CharField(max_length=100)
    partition = models.PositiveSmallIntegerField()
    payload = models.BinaryField(help_text="The encoded CloudEvents envelope.")
    created_at = models.DateTimeField(auto_now_add=True)
    attempted_at_ms = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="Redis server time (ms) before the relay's last write attempt.",
    )
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    stream_id = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["published_at", "id"], name="outbox_pending")]

    def __str__(self) -> str:
        return f"{self.event_id} -> {self.topic}.{self.partition}"


class ProcessedEvent(models.Model):
    """An event a group's handler has processed: written in the handler's transaction.

    A re-delivered event whose record exists is acked without running the
    handler again (exactly-once effects on this database).
    """

    group = models.CharField(max_length=100)
    event_id = models.CharField(max_length=36)
    processed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["group", "event_id"], name="unique_processed"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_id} by {self.group}"
