"""Phases 1 and 2: drain pre-published events, in this process.

Ours: a ``GroupConsumer`` thread (the one a Celery worker's bootstep runs)
with a no-op handler, timed from the moment its idle group is rewound to the
start of the topic until every entry is acked. Raw: a redis-py loop of
``XREADGROUP COUNT 1000`` over the same streams and one ``XACK`` per stream
and batch, timed from its first read until a read comes back empty.

Run as a module (``python -m bench._consume_drain``), it measures the
idempotent drain against the database of its environment and prints one
JSON line; bench/consume.py runs it once per database.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from bench._consume_common import (
    backlog,
    kick,
    partitions_of,
    rewind,
    stream_total,
    wait_drained,
    wait_owning,
)

TIMEOUT = 600.0  # seconds a drain may take before the bench gives up


def _counting(
    target: int, profiler: cProfile.Profile | None
) -> tuple[Callable[[Any], None], threading.Event]:
    """Return a no-op handler that sets the event after ``target`` calls.

    With a profiler, it profiles the consumer thread from the first call to
    the last, so the idle wait before the drain is not counted.
    """
    done = threading.Event()
    count = 0

    def noop(event: Any) -> None:
        nonlocal count
        count += 1
        if profiler is not None and count == 1:
            profiler.enable()  # cProfile follows the thread that enables it
        if count >= target:
            if profiler is not None:
                profiler.disable()
            done.set()

    return noop, done


def drain_ours(
    client: Any,
    topic: str,
    data: dict[str, Any],
    *,
    batch_size: int,
    idempotent: bool,
    profiler: cProfile.Profile | None = None,
) -> tuple[float, int]:
    """Return (events/s, events) for a fresh group's drain of ``topic``."""
    from eventbus.consumer import subscribe
    from eventbus.consumer.runner import GroupConsumer
    from eventbus.groups import delete_group

    group = f"ours-{uuid.uuid4().hex[:10]}"
    total = stream_total(client, topic) + 1  # and the kick
    handler, done = _counting(total, profiler)
    subscribe(topic, group=group, idempotent=idempotent, start="latest")(handler)
    consumer = GroupConsumer(group, batch_size=batch_size)
    thread = threading.Thread(target=consumer.run, name=f"bench-{group}", daemon=True)
    thread.start()
    try:
        wait_owning(client, group, len(partitions_of(topic)) + 1, alive=thread.is_alive)
        started = time.perf_counter()
        rewind(client, topic, group)
        kick(topic, data)
        if not done.wait(TIMEOUT):
            raise RuntimeError(
                f"{group!r} handled fewer than {total} events in {TIMEOUT:.0f}s "
                f"(backlog {backlog(client, topic, group)})."
            )
        finished = wait_drained(client, topic, group, timeout=30, poll=0.001)
    finally:
        consumer.stop()
        thread.join(60)
    delete_group(topic, group)
    return total / (finished - started), total


def drain_raw(client: Any, topic: str) -> tuple[float, int]:
    """Return (events/s, events) for a raw XREADGROUP COUNT 1000 + XACK loop."""
    from eventbus.keys import stream_key

    group = f"raw-{uuid.uuid4().hex[:10]}"
    keys = [stream_key(topic, p) for p in partitions_of(topic)]
    for key in keys:
        client.xgroup_create(key, group, "0")
    streams = {key: ">" for key in keys}
    read, ack = client.xreadgroup, client.xack
    count = 0
    started = time.perf_counter()
    while reply := read(group, "raw", streams, count=1000):
        for key, entries in reply:
            if entries:
                ack(key, group, *[sid for sid, _ in entries])
                count += len(entries)
    seconds = time.perf_counter() - started
    for key in keys:
        client.xgroup_destroy(key, group)
    if count != stream_total(client, topic):
        raise RuntimeError(
            f"The raw loop read {count} of {stream_total(client, topic)}."
        )
    return count / seconds, count


def idempotent_rounds(topic: str, rounds: int, batch_size: int) -> dict[str, Any]:
    """Return events/s per round of idempotent drains on this process's database."""
    from django.db import connection

    from bench.publish import make_data
    from eventbus.client import get_redis
    from eventbus.models import ProcessedEvent

    client = get_redis()
    rates = []
    for _ in range(rounds):
        rate, events = drain_ours(
            client, topic, make_data(0), batch_size=batch_size, idempotent=True
        )
        rates.append(rate)
        ProcessedEvent.objects.all().delete()  # every round starts from one size
    return {
        "vendor": connection.vendor,
        "events": events,
        "rates": rates,
        "server": _server_version(connection),
    }


def _server_version(connection: Any) -> str:
    if connection.vendor == "postgresql":
        connection.ensure_connection()
        number = connection.connection.info.server_version  # e.g. 150020
        return f"PostgreSQL {number // 10000}.{number % 100}"
    return f"SQLite {sqlite3.sqlite_version}"


def main() -> int:
    import orjson

    from bench._consume_common import setup_django
    from bench.consume_app.names import IDEM_TOPIC, PARTITIONS

    parser = argparse.ArgumentParser(description="Idempotent drains (child).")
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--batch-size", type=int, required=True)
    args = parser.parse_args()
    setup_django(dict(os.environ), {IDEM_TOPIC: PARTITIONS})
    result = idempotent_rounds(IDEM_TOPIC, args.rounds, args.batch_size)
    sys.stdout.write(orjson.dumps(result).decode() + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
