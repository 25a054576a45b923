"""Test handlers. Behaviour comes from the event's data:

- ``fail: n``: raise on the first n attempts in this process (large n: poison),
  only in group ``fail_for`` when that is given;
- ``sleep: s``: take s seconds, on the first ``sleep_times`` attempts (all
  when absent), in small steps so a timeout interrupts it promptly;
- ``die: true``: end the whole process at once (``os._exit(1)``, as a
  segfault or an OOM kill would: no exception, no cleanup, no ack).
Every successful run writes a ``Handled`` row in the handler's transaction.
"""

from __future__ import annotations

import os
import time

from eventbus.consumer import RetryPolicy, subscribe
from eventbus.envelope import Event
from tests.consumer_app.events import PROBE_HAPPENED, PROBE_TOPIC
from tests.consumer_app.models import Handled

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.05, max_delay=0.2)
ATTEMPTS: dict[tuple[str, str], int] = {}


def _handle(group: str, event: Event) -> None:
    data = event.data
    if data.get("die"):
        os._exit(1)
    tries = ATTEMPTS[(group, event.id)] = ATTEMPTS.get((group, event.id), 0) + 1
    if data.get("sleep") and tries <= data.get("sleep_times", tries):
        end = time.monotonic() + data["sleep"]
        while time.monotonic() < end:
            time.sleep(0.01)
    if tries <= data.get("fail", 0) and data.get("fail_for", group) == group:
        raise ValueError(f"probe {data['seq']} fails on attempt {tries}")
    Handled.objects.create(
        group=group,
        event_id=event.id,
        key=event.partitionkey or "",
        seq=data["seq"],
        pid=os.getpid(),
    )


@subscribe(
    PROBE_TOPIC, group="probe-a", types=[PROBE_HAPPENED], retry=FAST_RETRY, timeout=1
)
def probe_a(event: Event) -> None:
    _handle("probe-a", event)


@subscribe(PROBE_TOPIC, group="probe-b", types=["probe.*"], retry=FAST_RETRY)
def probe_b(event: Event) -> None:
    if event.type == PROBE_HAPPENED:
        _handle("probe-b", event)
