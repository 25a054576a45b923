"""Publish in strict mode until Redis goes away, printing every acknowledged event.

Run by test_durability.py as a subprocess with DJANGO_SETTINGS_MODULE,
BUS_DURABILITY=strict, TEST_REDIS_URL and DATABASE_URL (an in-memory SQLite
that this process migrates itself). Each publish that returned prints
``ack <event id> <partition> <stream id>`` on stdout, flushed at once.
Exits 3 when publishing fails (Redis killed), 4 when the time bound is hit.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

TOPIC = "durable"
TYPE = "durable.written"
MAX_SECONDS = 60.0  # a bound in case the parent never kills the server


def main() -> int:
    """Set up the topic and publish in a loop until an error; return the exit code."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    import django

    django.setup()
    from django.core.management import call_command

    from eventbus import publish, register_event_type
    from eventbus.exceptions import BusError
    from eventbus.models import Topic

    call_command("migrate", verbosity=0)
    Topic.objects.create(name=TOPIC, partitions=3)
    register_event_type(
        TYPE,
        topic=TOPIC,
        schema={
            "type": "object",
            "required": ["n"],
            "properties": {"n": {"type": "integer"}},
        },
    )
    deadline = time.monotonic() + MAX_SECONDS
    n = 0
    while time.monotonic() < deadline:
        try:
            published = publish(TOPIC, TYPE, {"n": n}, key=f"k{n % 17}")
        except BusError as exc:
            print(f"publish #{n} failed after {n} acks: {exc}", file=sys.stderr)
            return 3
        position = published.position
        print(
            "ack",
            published.event_id,
            position.partition,
            position.stream_id,
            flush=True,
        )
        n += 1
    print(f"still publishing after {MAX_SECONDS} s; giving up", file=sys.stderr)
    return 4


if __name__ == "__main__":
    sys.exit(main())
