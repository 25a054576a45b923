"""The feed's wire protocol: close codes, client messages, frames.

Client frames are small JSON requests; an invalid one gets an error frame
and the socket stays open. Event frames are structured CloudEvents
(``cloudevents.json`` subprotocol) with the extension attributes
``sytopic``, ``sypartition`` and ``syoffset``: pass them back as ``from`` to
resume exactly after the last event seen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from console.filters import parse_filters
from eventbus.envelope import Event
from eventbus.streams import is_number, split_id

SUBPROTOCOL = "cloudevents.json"
MAX_MESSAGE = 64 * 1024  # bytes of one client frame
MAX_SUBSCRIPTIONS = 20  # per connection
MAX_TOPICS = 50  # per subscription

# Close codes (RFC 6455 and the private 4000-4999 range).
PROTOCOL_ERROR = 1002  # no cloudevents.json subprotocol offered
UNSUPPORTED = 1003  # a binary frame
POLICY = 1008  # authentication or a limit of the token
TOO_BIG = 1009  # a client frame over MAX_MESSAGE
SERVER_ERROR = 1011
IDLE = 4000  # no subscription and no client frame for API["FEED_IDLE_SECONDS"]
SLOW = 4008  # fell API["FEED_BUFFER"] frames behind

# A position key: (ms, seq) of a stream id. A start time T is the floor
# (T, -1), so the first event at T is "after" it.
Key = tuple[int, int]
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class FeedError(ValueError):
    """A client message the feed refuses; the message says how to fix it."""


def key_of(stream_id: str) -> Key:
    ms, _, seq = stream_id.partition("-")
    return (int(ms), int(seq))


def id_of(key: Key) -> str:
    return f"{key[0]}-{max(key[1], 0)}"


@dataclass(frozen=True)
class Start:
    """Where a subscription starts: latest, earliest, a time, or positions."""

    mode: str  # "latest", "earliest", "time", "positions"
    ms: int = 0
    positions: dict[str, dict[int, Key]] = field(default_factory=dict)


@dataclass(frozen=True)
class SubscribeSpec:
    """One ``{"op": "subscribe"}`` request."""

    id: str
    topics: list[str]
    types: list[str] | None
    key: str | None
    subject: str | None
    start: Start


def parse_subscribe(message: dict[str, Any]) -> SubscribeSpec:
    """Validate a subscribe message; raise ``FeedError`` saying what is wrong."""
    sub_id = message.get("id")
    if not isinstance(sub_id, str) or not sub_id or len(sub_id) > 64:
        raise FeedError('A subscription needs an "id": a short string such as "s1".')
    topics = message.get("topics")
    if isinstance(topics, str):
        topics = [topics]
    if (
        not isinstance(topics, list)
        or not topics
        or len(topics) > MAX_TOPICS
        or not all(isinstance(t, str) and _NAME.match(t) for t in topics)
    ):
        raise FeedError(
            f'Subscription {sub_id}: "topics" must list 1 to {MAX_TOPICS} topic '
            'names, e.g. ["orders"].'
        )
    filters = parse_filters(message, f"Subscription {sub_id}", FeedError)
    unique = list(dict.fromkeys(topics))
    return SubscribeSpec(
        id=sub_id,
        topics=unique,
        types=filters.types,
        key=filters.key,
        subject=filters.subject,
        start=parse_start(sub_id, message.get("from", "latest"), unique),
    )


def parse_start(sub_id: str, raw: Any, topics: list[str]) -> Start:
    """Parse ``from``: latest, earliest, ms, ISO-8601 time, or saved positions."""
    advice = (
        f'Subscription {sub_id}: "from" must be "latest", "earliest", a time '
        '(milliseconds since the epoch or ISO-8601 such as "2026-11-26T10:00:00Z") '
        'or saved positions {"<topic>": {"<partition>": "<syoffset>"}}.'
    )
    if raw in (None, "latest", "earliest"):
        return Start(raw or "latest")
    if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
        return Start("time", ms=raw)
    if isinstance(raw, str):
        try:
            when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            raise FeedError(advice) from None
        if when.tzinfo is None:
            raise FeedError(f"{advice} The time {raw!r} has no time zone.")
        return Start("time", ms=max(int(when.timestamp() * 1000), 0))
    if isinstance(raw, dict):
        return Start("positions", positions=_parse_positions(sub_id, raw, topics))
    raise FeedError(advice)


def _parse_positions(
    sub_id: str, raw: dict[str, Any], topics: list[str]
) -> dict[str, dict[int, Key]]:
    positions: dict[str, dict[int, Key]] = {}
    for topic, parts in raw.items():
        if topic not in topics:
            raise FeedError(
                f"Subscription {sub_id}: the saved positions name topic {topic!r}, "
                f'which is not in "topics" ({", ".join(topics)}).'
            )
        if not isinstance(parts, dict):
            raise FeedError(
                f"Subscription {sub_id}: positions of {topic!r} must map partition "
                'numbers to stream ids, e.g. {"0": "1700000000000-0"}.'
            )
        positions[topic] = {}
        for part, sid in parts.items():
            key = split_id(sid, seq_required=True)
            if not is_number(part) or key is None:
                raise FeedError(
                    f"Subscription {sub_id}: position {part!r}: {sid!r} of {topic!r} "
                    'is not a partition number and stream id ("1700000000000-0", '
                    "each part at most 2**64-1)."
                )
            positions[topic][int(part)] = key
    return positions


def event_frame(event: Event) -> str:
    """Return the text frame of one event: the CloudEvent plus its position."""
    assert event.position is not None
    body = event.to_dict()
    body["sytopic"] = event.position.topic
    body["sypartition"] = event.position.partition
    body["syoffset"] = event.position.stream_id
    return orjson.dumps(body).decode()


def control(kind: str, **fields: Any) -> str:
    """Return a control frame: a JSON object with a "kind" (never a CloudEvent)."""
    return orjson.dumps(
        {"kind": kind, **{k: v for k, v in fields.items() if v is not None}}
    ).decode()
