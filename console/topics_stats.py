"""Figures for the Topics pages: lengths, ends, times and a rate estimate.

Read-only: stream state comes from XINFO STREAM (eventbus.streams) and the
rate from the newest events of the last minute (eventbus read_range). The
live sampler pushes finer rates over the socket; these are what a page
shows at render time.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from eventbus import read_range
from eventbus.client import get_redis, redis_errors
from eventbus.streams import StreamState, parse_id, server_ms, stream_state
from eventbus.topics import TopicInfo

RATE_WINDOW_MS = 60_000
# Newest events read for the rate: enough for a stable figure, few enough
# that a busy topic costs one small read per page view.
RATE_SAMPLE = 200


def ms_to_text(ms: int | None) -> str:
    """Return ``ms`` since the epoch as 'YYYY-MM-DD HH:MM:SS.mmmZ', or '—'."""
    if ms is None:
        return "—"
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}Z"


def id_time(stream_id: str | None) -> str:
    """Return the time a stream id was appended at, as text."""
    return ms_to_text(parse_id(stream_id)[0]) if stream_id else "—"


def retention_text(info: TopicInfo) -> str:
    """Describe a topic's retention: max age and/or max length, or forever."""
    parts = []
    if info.retention_ms:
        parts.append(f"max age {duration_text(info.retention_ms)}")
    if info.retention_max_len:
        parts.append(f"max {info.retention_max_len:,} events/partition")
    return ", ".join(parts) or "forever"


def duration_text(ms: int) -> str:
    """Return a duration as the largest whole unit that fits ('7d', '90m')."""
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms / 1000:g}s"


@dataclass(frozen=True)
class Rate:
    """Events per second over the last minute, for the topic and each partition."""

    total: float
    by_partition: dict[int, float] = field(default_factory=dict)
    # True when the window was cut short by RATE_SAMPLE: a busy topic.
    sampled: bool = False


def rate(info: TopicInfo, now_ms: int) -> Rate:
    """Estimate events/s from the newest events of the last minute."""
    page = read_range(
        info.name,
        start=max(now_ms - RATE_WINDOW_MS, 0),
        limit=RATE_SAMPLE,
        reverse=True,
    )
    if not page.events:
        return Rate(0.0)
    window = RATE_WINDOW_MS
    if page.next_cursor is not None:
        # More events than sampled: measure over the span the sample covers.
        oldest = min(e.position.ms for e in page.events if e.position)
        window = max(now_ms - oldest, 1)
    counts = Counter(e.position.partition for e in page.events if e.position)
    per_second = {p: n * 1000 / window for p, n in counts.items()}
    return Rate(sum(per_second.values()), per_second, page.next_cursor is not None)


@dataclass(frozen=True)
class PartitionRow:
    """One partition of a topic as the detail page shows it."""

    partition: int
    state: StreamState
    rate: float

    @property
    def first_time(self) -> str:
        return id_time(self.state.first_id) if self.state.length else "—"

    @property
    def last_time(self) -> str:
        return id_time(self.state.last_id) if self.state.length else "—"


@dataclass(frozen=True)
class TopicSummary:
    """A topic's figures for the list and the detail page."""

    info: TopicInfo
    partitions: list[PartitionRow]
    rate: Rate

    @property
    def length(self) -> int:
        return sum(row.state.length for row in self.partitions)

    @property
    def oldest(self) -> str:
        firsts = [r.state.first_id for r in self.partitions if r.state.length]
        return id_time(min(firsts, key=parse_id)) if firsts else "—"

    @property
    def newest(self) -> str:
        # last-generated-id: the newest entry unless it was deleted since.
        lasts = [r.state.last_id for r in self.partitions if r.state.length]
        return id_time(max(lasts, key=parse_id)) if lasts else "—"

    @property
    def retention(self) -> str:
        return retention_text(self.info)


def summarize(info: TopicInfo) -> TopicSummary:
    """Read one topic's partitions and rate; raise BusUnavailable if Redis is down."""
    client = get_redis()
    with redis_errors(f"read the state of topic '{info.name}'"):
        now_ms = server_ms(client)
        states = [stream_state(client, info.name, p) for p in info.partition_ids]
    speed = rate(info, now_ms)
    rows = [
        PartitionRow(p, state, speed.by_partition.get(p, 0.0))
        for p, state in enumerate(states)
    ]
    return TopicSummary(info, rows, speed)
