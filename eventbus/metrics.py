"""Consumer counters kept in Redis, for the console and Prometheus.

Each worker adds its batch's counts to a hash per (source, group) in the
same MULTI/EXEC as its acks (eventbus.consumer.batch), so the figures are
the group's across all its workers and survive restarts. The web process
reads them on demand: ``/metrics`` exposes them in Prometheus's format.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from eventbus.client import get_redis, redis_errors
from eventbus.consumer.membership import group_members
from eventbus.groups import list_groups
from eventbus.keys import redrive_key, stats_key, stream_key
from eventbus.topics import get_topic

# beyond_end: events at or after a group's end bound (a replay's range is
# over), acked without handling. Not "skipped", which means "no handler
# takes this type": the two call for different questions from an operator.
OUTCOMES = ("processed", "failed", "skipped", "duplicates", "dead", "beyond_end")


@dataclass(frozen=True)
class SourceStats:
    """One group's counters on one partition (-1: its redrive stream)."""

    topic: str
    group: str
    partition: int
    processed: int = 0
    failed: int = 0
    skipped: int = 0
    duplicates: int = 0
    dead: int = 0
    beyond_end: int = 0
    latency_us: int = 0  # summed handler time of the processed events
    last_ms: int | None = None  # when a batch last committed

    @property
    def mean_latency_ms(self) -> float | None:
        return self.latency_us / self.processed / 1000 if self.processed else None


def source_stats(topic: str, group: str) -> list[SourceStats]:
    """Return the group's counters per partition of ``topic`` and its redrive."""
    info = get_topic(topic)
    sources = [(p, stream_key(topic, p)) for p in info.partition_ids]
    sources.append((-1, redrive_key(topic, group)))
    client = get_redis()
    with redis_errors(f"read the counters of '{group}' on '{topic}'"):
        pipe = client.pipeline(transaction=False)
        for _, key in sources:
            pipe.hgetall(stats_key(key, group))
        replies = pipe.execute()
    stats = []
    for (partition, _), raw in zip(sources, replies, strict=True):
        values = {k.decode(): int(v) for k, v in raw.items()}
        stats.append(SourceStats(topic, group, partition, **values))
    return stats


class BusCollector(Collector):
    """Prometheus collector over every group's counters and members."""

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        events = CounterMetricFamily(
            "switchyard_consumer_events",
            "Events a consumer group finished, by outcome.",
            labels=["topic", "group", "partition", "outcome"],
        )
        seconds = CounterMetricFamily(
            "switchyard_handler_seconds",
            "Time handlers spent on processed events.",
            labels=["topic", "group", "partition"],
        )
        members = GaugeMetricFamily(
            "switchyard_group_members",
            "Live members (worker threads) of a consumer group.",
            labels=["group"],
        )
        seen_groups: set[str] = set()
        client = get_redis()
        for info in list_groups():
            for row in source_stats(info.topic, info.name):
                labels = [row.topic, row.group, _partition_label(row.partition)]
                for outcome in OUTCOMES:
                    events.add_metric([*labels, outcome], getattr(row, outcome))
                seconds.add_metric(labels, row.latency_us / 1e6)
            if info.name not in seen_groups:
                seen_groups.add(info.name)
                members.add_metric([info.name], len(group_members(client, info.name)))
        yield events
        yield seconds
        yield members


def _partition_label(partition: int) -> str:
    return "redrive" if partition < 0 else str(partition)
