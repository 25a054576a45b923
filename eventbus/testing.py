"""Test helpers: see exactly which events a piece of code published.

``capture_events`` reads what really reached the bus, not a mock of it:
entries appended to any topic's log during the block, plus outbox rows
written during it that the relay has not published yet (a test inside a
transaction never commits, so ``publish_on_commit`` rows stay there).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db.models import Max

from eventbus.client import get_redis
from eventbus.envelope import Event
from eventbus.keys import stream_key
from eventbus.models import OutboxEvent
from eventbus.schemas import get_event_type
from eventbus.streams import parse_id, stream_state, text
from eventbus.topics import list_topics


@dataclass
class Captured:
    """The events published inside a ``capture_events`` block, in order."""

    events: list[Event] = field(default_factory=list)

    def types(self) -> list[str]:
        return [event.type for event in self.events]

    def of(self, event_type: str) -> list[Event]:
        return [event for event in self.events if event.type == event_type]

    def assert_published(self, *expected: str) -> None:
        """Assert these event types, in this order and nothing else, were published.

        Each event's data is checked against its registered schema version.
        """
        assert self.types() == list(expected), (
            f"published {self.types()}, expected {list(expected)}"
        )
        for event in self.events:
            version = int((event.dataschema or ":1").rpartition(":")[2])
            topic = event.position.topic if event.position else None
            get_event_type(topic or _topic_of(event), event.type, version).validate(
                event.data
            )


def _topic_of(event: Event) -> str:
    row = OutboxEvent.objects.filter(event_id=event.id).first()
    assert row is not None, f"event {event.id} is neither in the log nor the outbox"
    return row.topic


@contextmanager
def capture_events() -> Iterator[Captured]:
    """Collect every event published (or put in the outbox) inside the block.

    Outbox rows come first, in the order they were written; then events that
    went to the log directly, in the order Redis appended them.
    """
    client = get_redis()
    before = {
        (t.name, p): stream_state(client, t.name, p).last_id or "0-0"
        for t in list_topics()
        for p in t.partition_ids
    }
    outbox_from = OutboxEvent.objects.aggregate(last=Max("id"))["last"] or 0
    captured = Captured()
    yield captured
    events: list[Event] = [
        Event.from_wire(bytes(row.payload))
        for row in OutboxEvent.objects.filter(id__gt=outbox_from).order_by("id")
    ]
    seen = {event.id for event in events}
    logged: list[Event] = []
    for (topic, partition), last in before.items():
        entries = client.xrange(stream_key(topic, partition), f"({last}", "+") or []
        for sid, fields in entries:
            event = Event.from_entry(topic, partition, text(sid), fields or {})
            if event.id not in seen:
                logged.append(event)
    logged.sort(key=lambda e: parse_id(e.position.stream_id) if e.position else (0, 0))
    captured.events = events + logged
