"""Who owns each of a group's partitions right now: read-only, for the console.

A member takes a partition (or the group's redrive stream) through a lease
key holding its member name (``eventbus.consumer.membership``); reading
those keys tells which worker processes which partition. Nothing is written.
"""

from __future__ import annotations

from eventbus.client import get_redis, redis_errors
from eventbus.keys import lease_key, redrive_key, stream_key
from eventbus.streams import text
from eventbus.topics import get_topic

REDRIVE = -1  # the key used for the group's redrive stream in the result


def partition_owners(topic: str, group: str) -> dict[int, str | None]:
    """Return the member holding each partition's lease (-1: redrive), else None."""
    info = get_topic(topic)
    sources = [(p, stream_key(topic, p)) for p in info.partition_ids]
    sources.append((REDRIVE, redrive_key(topic, group)))
    client = get_redis()
    with redis_errors(f"read the partition owners of '{group}' on '{topic}'"):
        raw = client.mget([lease_key(key, group) for _, key in sources])
    return {
        p: None if value is None else text(value)
        for (p, _), value in zip(sources, raw, strict=True)
    }
