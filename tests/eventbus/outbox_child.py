"""Child process for the outbox crash test: commit an outbox event, then die.

Run as ``python -m tests.eventbus.outbox_child`` with DATABASE_URL pointing at
the test database and TEST_REDIS_URL at the test Redis. It prints the event
id, commits, and exits from a commit hook that runs before publish_on_commit's
relay hook: the process is gone right after COMMIT, before any relay ran.
"""

from __future__ import annotations

import os
import sys

TOPIC = "outbox-probe"
TYPE = "probe.recorded"
SCHEMA = {
    "type": "object",
    "required": ["n"],
    "properties": {"n": {"type": "integer"}, "key": {"type": "string"}},
}


def register() -> None:
    """Declare the probe event type (the registry is per process)."""
    from eventbus.schemas import register_event_type

    register_event_type(TYPE, topic=TOPIC, schema=SCHEMA)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
    import django

    django.setup()
    from django.db import transaction

    from eventbus.outbox import publish_on_commit

    register()
    with transaction.atomic():
        transaction.on_commit(lambda: os._exit(0))
        event_id = publish_on_commit(TOPIC, TYPE, {"n": 1, "key": "c1"}, key="c1")
        print(event_id, flush=True)
    sys.exit(3)  # only reached if the commit hook did not end the process


if __name__ == "__main__":
    main()
