"""Real bus data for the console's group and dead-letter pages."""

from __future__ import annotations

from typing import Any

import redis

from eventbus import create_group, publish, register_event_type
from eventbus.deadletters import DeadLetter, add_dead_letter, dead_letter_from
from eventbus.envelope import FIELD, Event
from eventbus.keys import redrive_key, stream_key
from eventbus.producer import Published

TOPIC = "gorders"
TYPES = ("gorder.placed", "gorder.cancelled")


class PaymentDeclined(Exception):
    """A handler's own error class, stored module-qualified."""


def declare(make_topic: Any, partitions: int = 2) -> None:
    """Create the topic and its event types."""
    make_topic(TOPIC, partitions=partitions)
    for name in TYPES:
        register_event_type(name, topic=TOPIC, schema={"type": "object"})


def place(n: int, event_type: str = "gorder.placed") -> Published:
    """Publish one order event keyed by customer n."""
    return publish(TOPIC, event_type, {"order_id": f"o{n}"}, key=f"c{n}")


def fill(count: int) -> list[Published]:
    """Publish ``count`` events spread over the partitions."""
    return [place(n) for n in range(count)]


def group_at(name: str, start: str = "earliest") -> None:
    """Create a consumer group on the topic."""
    create_group(TOPIC, name, start=start)


def orders_read_by(
    make_topic: Any, group: str = "inventory", count: int = 6, start: str = "earliest"
) -> list[Published]:
    """Declare the topic, publish ``count`` events and create ``group`` on it."""
    declare(make_topic)
    published = fill(count)
    group_at(group, start=start)
    return published


def dead_letter(
    client: redis.Redis, published: Published, group: str, exc: Exception
) -> DeadLetter:
    """Dead-letter a logged event for ``group`` as a worker's last attempt would."""
    pos = published.position
    wire = client.xrange(stream_key(TOPIC, pos.partition), pos.stream_id, pos.stream_id)
    raw = wire[0][1][FIELD]
    Event.from_wire(raw, pos)  # it is a real envelope
    try:
        raise exc
    except Exception as failure:
        letter = dead_letter_from(
            TOPIC,
            group,
            pos.partition,
            pos.stream_id,
            raw,
            failure,
            3,
            1_000,
            2_000,
            3_000,
        )
    add_dead_letter(client, letter)
    return letter


def failed_letters(client: redis.Redis, make_topic: Any) -> list[str]:
    """Dead-letter six events for 'inventory' and return their ids, oldest first.

    Even ones failed with ValueError, odd ones with PaymentDeclined.
    """
    for n, event in enumerate(orders_read_by(make_topic)):
        exc = ValueError(f"no stock {n}") if n % 2 == 0 else PaymentDeclined("card")
        dead_letter(client, event, "inventory", exc)
    return letter_ids(client, "inventory")


def redriven(client: redis.Redis, group: str = "inventory") -> int:
    """Return how many letters wait in the group's redrive stream."""
    return int(client.xlen(redrive_key(TOPIC, group)))


def letter_ids(client: redis.Redis, group: str) -> list[str]:
    """Return the ids held in the group's dead-letter stream, oldest first."""
    from eventbus.keys import dead_letter_key

    return [sid.decode() for sid, _ in client.xrange(dead_letter_key(TOPIC, group))]


def positions(client: redis.Redis, group: str, partitions: int = 2) -> dict[int, str]:
    """Return the group's last-delivered id per partition, straight from Redis."""
    found = {}
    for p in range(partitions):
        for row in client.xinfo_groups(stream_key(TOPIC, p)):
            if row["name"].decode() == group:
                found[p] = row["last-delivered-id"].decode()
    return found
