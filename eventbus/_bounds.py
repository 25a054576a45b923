"""End bounds of consumer groups: the time at which a group stops handling.

A group with a bound ``until`` (ms since the epoch) handles the events whose
stream time (the ``<ms>`` of their id) is before it; the consumer runtime
acknowledges the rest without running handlers and counts them as
``beyond_end``. That is how a replay of ``[start, until)`` ends: positions
move past the end, lag goes to 0 and stays there. The bound lives in Redis
(``keys.until_key``) next to the group's other state, so every worker reads
the same one and ``delete_group`` removes it with the group.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import redis

from eventbus._targets import timestamp_ms
from eventbus.exceptions import InvalidReset
from eventbus.keys import until_key
from eventbus.streams import is_number, text

Until = int | datetime | str | None


def until_value(until: Until) -> int | None:
    """Return ``until`` as ms since the epoch, or None for no end."""
    if until is None:
        return None
    if isinstance(until, str):
        word = until.strip()
        if not word or word.lower() == "none":
            return None
        if is_number(word):
            return timestamp_ms(int(word))
        try:
            until = datetime.fromisoformat(word)
        except ValueError:
            raise InvalidReset(
                f"{word!r} is not an end time. Use an ISO 8601 time (e.g. "
                "2024-05-01T13:00:00Z; no offset: TIME_ZONE) or ms since the epoch."
            ) from None
    return timestamp_ms(until)


def check_range(start: str, until_ms: int | None) -> None:
    """Raise ``InvalidReset`` when an end bound is not after a start time."""
    if until_ms is not None and is_number(start) and until_ms <= int(start):
        raise InvalidReset(
            f"The end ({until_ms}) must be after the start ({start}): the range "
            "is [start, end). Leave the end out for a group that never stops."
        )


def write_until(
    client: redis.Redis | redis.client.Pipeline,
    topic: str,
    group: str,
    until_ms: int | None,
) -> None:
    """Store (or, with None, remove) a group's bound; queue it on a pipeline."""
    if until_ms is None:
        client.delete(until_key(topic, group))
    else:
        client.set(until_key(topic, group), until_ms)


def read_until(client: redis.Redis, topic: str, group: str) -> int | None:
    """Return a group's bound on a topic, or None when it has none."""
    raw = client.get(until_key(topic, group))
    return None if raw is None else int(text(raw))


def read_untils(
    client: redis.Redis, topic: str, groups: Iterable[str]
) -> dict[str, int | None]:
    """Return the bound of each of ``groups`` on a topic (one round trip)."""
    names = list(groups)
    if not names:
        return {}
    raw = client.mget([until_key(topic, name) for name in names])
    return {
        name: None if value is None else int(text(value))
        for name, value in zip(names, raw, strict=True)
    }


def read_bounds(
    client: redis.Redis, group: str, topics: Iterable[str]
) -> dict[str, int | None]:
    """Return one group's bound on each of ``topics`` (one round trip)."""
    names = list(topics)
    pipe = client.pipeline(transaction=False)
    for topic in names:
        pipe.get(until_key(topic, group))
    return {
        topic: None if raw is None else int(text(raw))
        for topic, raw in zip(names, pipe.execute(), strict=True)
    }


def stream_ms(stream_id: str) -> int:
    """Return the time part of a stream id (``<ms>-<seq>``)."""
    return int(stream_id.partition("-")[0])
