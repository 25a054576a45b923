"""Helpers for consumer-runtime tests: run consumers, publish probes, wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from eventbus import Outgoing, publish_many
from eventbus.consumer.runner import GroupConsumer
from tests.consumer_app.events import PROBE_HAPPENED, PROBE_TOPIC
from tests.consumer_app.models import Handled


@contextmanager
def running(group: str, **options: object) -> Iterator[GroupConsumer]:
    """Run a GroupConsumer in a thread of this process; stop it after."""
    options = {"lease_ms": 2000, "heartbeat": 0.3, "block_ms": 100, **options}
    consumer = GroupConsumer(group, **options)  # type: ignore[arg-type]
    thread = threading.Thread(target=consumer.run, name=f"test-{group}")
    thread.start()
    try:
        yield consumer
    finally:
        consumer.stop()
        thread.join(15)
        assert not thread.is_alive(), "the consumer did not stop"


def publish_probes(
    count: int, keys: int = 8, start: int = 0, **extra: object
) -> list[str]:
    """Publish ``count`` probes over ``keys`` keys; seq increases per key."""
    results = publish_many(
        Outgoing(
            PROBE_TOPIC,
            PROBE_HAPPENED,
            {"seq": n, **extra},
            key=f"k{n % keys}",
        )
        for n in range(start, start + count)
    )
    return [r.event_id for r in results]


def wait_until(
    check: Callable[[], bool], timeout: float = 20.0, what: str = ""
) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {what or check}"
            )
        time.sleep(0.05)


def handled(group: str) -> list[Handled]:
    return list(Handled.objects.filter(group=group).order_by("id"))


def assert_per_key_order(rows: list[Handled]) -> None:
    """Each key's events were handled once each, in publish order."""
    by_key: dict[str, list[int]] = {}
    for row in rows:
        by_key.setdefault(row.key, []).append(row.seq)
    for key, seqs in by_key.items():
        assert seqs == sorted(seqs), f"key {key} out of order: {seqs}"
        assert len(seqs) == len(set(seqs)), f"key {key} handled twice: {seqs}"
