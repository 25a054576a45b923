"""The lake's bookkeeping: staged events, per-partition cursors, written files.

Events are staged one row per event by the handlers (exactly once by event
id), then written to Parquet in batches by ``lake_flush``, which deletes the
staged rows, advances the cursors and registers the files in one
transaction. Stream ids are kept as (ms, seq) integers so that the database
orders and compares them correctly.

The windows: per-minute counts by event time, SKU units, bought-together
pairs, what each order already counted, and the last revision published of
each window (windows.py, closing.py).
"""

from __future__ import annotations

from django.db import models


class StagedEvent(models.Model):
    """An event received but not yet written to the lake."""

    event_id = models.CharField(max_length=64, unique=True)
    topic = models.CharField(max_length=100)
    partition = models.PositiveIntegerField()
    stream_ms = models.BigIntegerField()
    stream_seq = models.BigIntegerField()
    type = models.CharField(max_length=200)
    source = models.CharField(max_length=500)
    subject = models.CharField(max_length=500, null=True, blank=True)
    partitionkey = models.CharField(max_length=500, null=True, blank=True)
    dataschema = models.CharField(max_length=500, null=True, blank=True)
    time = models.DateTimeField()
    # The JSON text itself, not a JSONField: jsonb would reorder keys, and the
    # lake must hold the same bytes whether written here or by rebuild_day.
    data = models.TextField()
    staged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["topic", "partition", "stream_ms", "stream_seq"],
                name="analytics_staged_pos",
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition}/{self.stream_ms}-{self.stream_seq}"


class LakeCursor(models.Model):
    """The last stream id of a partition written to the lake."""

    topic = models.CharField(max_length=100)
    partition = models.PositiveIntegerField()
    last_ms = models.BigIntegerField(default=0)
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "partition"], name="analytics_cursor_unique"
            )
        ]

    @property
    def last_id(self) -> str:
        return f"{self.last_ms}-{self.last_seq}"

    def __str__(self) -> str:
        return f"{self.topic}/{self.partition} at {self.last_id}"


class LakeFile(models.Model):
    """One Parquet file of the lake (path relative to ANALYTICS_LAKE_PATH)."""

    topic = models.CharField(max_length=100)
    date = models.DateField()
    partition = models.PositiveIntegerField()
    path = models.CharField(max_length=500, unique=True)
    rows = models.PositiveIntegerField()
    first_stream_id = models.CharField(max_length=40)
    last_stream_id = models.CharField(max_length=40)
    first_time = models.DateTimeField()
    last_time = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["topic", "date", "partition", "first_stream_id"]
        indexes = [models.Index(fields=["topic", "date"], name="analytics_file_day")]

    def __str__(self) -> str:
        return self.path


class MinuteStats(models.Model):
    """One minute of the order stream, keyed by event time (UTC minute start)."""

    minute = models.DateTimeField(unique=True)
    orders = models.PositiveIntegerField(default=0)
    revenue_cents = models.BigIntegerField(default=0)
    cancellations = models.PositiveIntegerField(default=0)
    stock_outs = models.PositiveIntegerField(default=0)
    # Set once analytics.window_closed went out for this minute.
    closed = models.BooleanField(default=False)
    # Changed by an event within LATENESS since the last window_close_due: the
    # published windows covering the minute are recomputed on the next close.
    dirty = models.BooleanField(default=False)
    # Events applied to this minute later than LATENESS that changed an
    # already published window: in the tables, never re-published.
    too_late = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["minute"]

    def __str__(self) -> str:
        return f"{self.minute.isoformat()}: {self.orders} orders"


class PublishedWindow(models.Model):
    """The last revision of a window sent as analytics.window_closed, with figures."""

    window = models.CharField(max_length=50)
    start = models.DateTimeField()
    end = models.DateTimeField()
    revision = models.PositiveIntegerField(default=1)
    metrics = models.JSONField()
    published_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["end", "window"]
        constraints = [
            models.UniqueConstraint(
                fields=["window", "start"], name="analytics_published_window_unique"
            )
        ]
        indexes = [models.Index(fields=["end"], name="analytics_published_end")]

    def __str__(self) -> str:
        return f"{self.window} {self.start.isoformat()} r{self.revision}"


class SkuMinute(models.Model):
    """Units of one SKU ordered in one minute (event time)."""

    minute = models.DateTimeField()
    sku = models.CharField(max_length=100)
    qty = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["minute", "sku"], name="analytics_sku_minute_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.minute.isoformat()} {self.sku} x{self.qty}"


class BoughtTogether(models.Model):
    """How many orders held both SKUs (``sku_a < sku_b``)."""

    sku_a = models.CharField(max_length=100)
    sku_b = models.CharField(max_length=100)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sku_a", "sku_b"], name="analytics_bought_together_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(sku_a__lt=models.F("sku_b")),
                name="analytics_bought_together_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku_a} + {self.sku_b}: {self.count}"


class SeenOrder(models.Model):
    """What the windows already counted of an order, so replays add nothing."""

    order_id = models.CharField(max_length=100, unique=True)
    placed = models.BooleanField(default=False)
    cancelled = models.BooleanField(default=False)
    stocked_out = models.BooleanField(default=False)

    def __str__(self) -> str:
        return self.order_id
