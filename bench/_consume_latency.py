"""Phase 4: end-to-end latency from ``publish`` to the start of the handler.

This process publishes one event at a time at a steady rate, each carrying
``time.time_ns()`` taken just before ``publish`` is called. The handler, in
a real ``celery -A config worker --bus-group bench-latency`` process, pushes
(its start time - that time) to a Redis list, which is read at the end.
Both clocks are the same machine's, so the difference needs no sync.
"""

from __future__ import annotations

import time
from typing import Any

from bench._consume_common import percentile


def _paced(topic: str, kind: str, payloads: list[dict[str, Any]], rate: float) -> float:
    """Publish each payload at its slot of a steady schedule; return the rate made."""
    from eventbus import publish

    started = time.perf_counter()
    for n, data in enumerate(payloads):
        delay = started + n / rate - time.perf_counter()
        if delay > 0:
            # Sleeping, not spinning: a spinning publisher would take the CPU
            # that the worker and Redis need on a small machine.
            time.sleep(delay)
        data["sent_ns"] = time.time_ns()
        publish(topic, kind, data, key=data["customer_id"])
    return len(payloads) / (time.perf_counter() - started)


def measure_latency(
    client: Any,
    topic: str,
    kind: str,
    records: str,
    payloads: list[dict[str, Any]],
    rate: float,
    warmup: int,
) -> dict[str, Any]:
    """Return latency percentiles (ms) for ``payloads`` published at ``rate``/s."""
    _paced(topic, kind, payloads[:warmup], rate)  # first events compile, connect
    _wait_records(client, records, warmup)
    client.delete(records)
    measured = payloads[warmup:]
    achieved = _paced(topic, kind, measured, rate)
    _wait_records(client, records, len(measured))
    values = sorted(int(v) / 1e6 for v in client.lrange(records, 0, -1))
    return {
        "events": len(values),
        "rate_asked": rate,
        "rate_made": round(achieved, 1),
        "p50_ms": round(percentile(values, 50), 3),
        "p90_ms": round(percentile(values, 90), 3),
        "p99_ms": round(percentile(values, 99), 3),
        "p999_ms": round(percentile(values, 99.9), 3),
        "max_ms": round(values[-1], 3),
        "mean_ms": round(sum(values) / len(values), 3),
    }


def _wait_records(client: Any, records: str, count: int) -> None:
    deadline = time.monotonic() + 60
    while client.llen(records) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"Only {client.llen(records)} of {count} latency records arrived "
                "within 60 s of the last publish; see the worker's log."
            )
        time.sleep(0.05)
