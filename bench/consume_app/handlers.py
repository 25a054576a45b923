"""Handlers of the groups that real Celery workers run in the benchmark.

The in-process drains subscribe their own handlers per round (fresh groups);
these two are for ``celery -A config worker --bus-group ...`` processes,
whose groups start at the end of their topic and are rewound by the bench.
"""

from __future__ import annotations

import time

from bench.consume_app.names import (
    LATENCY_GROUP,
    LATENCY_LIST,
    LATENCY_TOPIC,
    TOPIC,
    WORKER_GROUP,
)
from eventbus.client import get_redis
from eventbus.consumer import subscribe
from eventbus.envelope import Event


@subscribe(TOPIC, group=WORKER_GROUP, idempotent=False, start="latest")
def worker_noop(event: Event) -> None:
    """Do nothing: what is measured is the runtime around the handler."""


@subscribe(LATENCY_TOPIC, group=LATENCY_GROUP, idempotent=False, start="latest")
def record_latency(event: Event) -> None:
    """Record how long ago (ns) the event was handed to ``publish``."""
    started = time.time_ns()
    # One round trip after the measurement; the next event of a batch waits
    # for it, which is a cost a real handler would have too.
    get_redis().rpush(LATENCY_LIST, started - event.data["sent_ns"])
