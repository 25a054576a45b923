"""Publishing: validate, wrap in a CloudEvents envelope, XADD to the key's partition."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from eventbus.client import get_redis, redis_errors
from eventbus.conf import bus_settings
from eventbus.durability import verify_durable_reply, wait_durable
from eventbus.envelope import FIELD, Event, Position, new_event_id, now_rfc3339
from eventbus.exceptions import BatchError, EventError, EventTooLarge, NotSerializable
from eventbus.keys import stream_key
from eventbus.partitioning import partition_for
from eventbus.schemas import get_event_type
from eventbus.topics import get_topic


@dataclass(frozen=True)
class Published:
    """The result of a publish: the event's id and where it landed in the log."""

    event_id: str
    position: Position


@dataclass(frozen=True)
class Prepared:
    """A validated, encoded event that is ready to be appended to its partition."""

    topic: str
    partition: int
    event_id: str
    wire: bytes


@dataclass(frozen=True)
class Outgoing:
    """One event of a ``publish_many`` batch."""

    topic: str
    type: str
    data: Any
    key: str | None = None
    subject: str | None = None
    version: int | None = None
    traceparent: str | None = None


def prepare(
    topic: str,
    type: str,
    data: Any,
    *,
    key: str | None = None,
    subject: str | None = None,
    version: int | None = None,
    traceparent: str | None = None,
    source: str | None = None,
    event_id: str | None = None,
) -> Prepared:
    """Validate and encode one event without writing it; raise on bad input."""
    info = get_topic(topic)
    event_type = get_event_type(topic, type, version)
    if key is not None and not isinstance(key, str):
        raise EventError(f"The partition key must be a string, not {key!r}.")
    event_type.validate(data)
    event = Event(
        id=event_id or new_event_id(),
        source=source or bus_settings().source,
        type=type,
        time=now_rfc3339(),
        data=data,
        subject=subject,
        partitionkey=key,
        traceparent=traceparent,
        dataschema=event_type.dataschema,
    )
    try:
        wire = event.to_wire()
    except orjson.JSONEncodeError as exc:
        raise NotSerializable(
            f"The data of this '{type}' event cannot be encoded as JSON ({exc}). "
            "Pass only dicts, lists, strings, numbers, booleans and None."
        ) from exc
    limit = bus_settings().max_event_bytes
    if len(wire) > limit:
        raise EventTooLarge(
            f"The encoded '{type}' event is {len(wire)} bytes, over the "
            f"{limit}-byte limit (BUS['MAX_EVENT_BYTES']). Store large payloads "
            "elsewhere and publish a reference, or raise the limit."
        )
    return Prepared(topic, partition_for(key, info.partitions), event.id, wire)


def write(
    prepared: Sequence[Prepared], client: redis.Redis | None = None
) -> list[Published]:
    """Append prepared events to their partitions, atomically on one server."""
    if not prepared:
        return []
    client = client or get_redis()
    strict = bus_settings().durability == "strict"
    with redis_errors(f"publish {len(prepared)} event(s) to '{prepared[0].topic}'"):
        if len(prepared) == 1 and not strict:
            item = prepared[0]
            sid = client.execute_command(
                "XADD", stream_key(item.topic, item.partition), "*", FIELD, item.wire
            )
            return [_published(item, sid)]
        # MULTI/EXEC: a dropped connection before EXEC writes none of the batch.
        pipe = client.pipeline(transaction=len(prepared) > 1)
        for item in prepared:
            pipe.execute_command(
                "XADD", stream_key(item.topic, item.partition), "*", FIELD, item.wire
            )
        if strict:
            wait_durable(client, pipe)
        replies = pipe.execute()
    if strict:
        verify_durable_reply(client, replies[-1])
    return [_published(item, sid) for item, sid in zip(prepared, replies, strict=False)]


def publish(
    topic: str,
    type: str,
    data: Any,
    *,
    key: str | None = None,
    subject: str | None = None,
    version: int | None = None,
    traceparent: str | None = None,
) -> Published:
    """Validate ``data`` against ``type``'s schema and append it to ``topic``."""
    item = prepare(
        topic,
        type,
        data,
        key=key,
        subject=subject,
        version=version,
        traceparent=traceparent,
    )
    return write([item])[0]


def publish_many(events: Iterable[Outgoing | Mapping[str, Any]]) -> list[Published]:
    """Publish a batch in one round trip; nothing is written if any event is bad."""
    prepared: list[Prepared] = []
    errors: list[tuple[int, EventError]] = []
    for index, raw in enumerate(events):
        item = raw if isinstance(raw, Outgoing) else _outgoing(index, raw)
        try:
            prepared.append(
                prepare(
                    item.topic,
                    item.type,
                    item.data,
                    key=item.key,
                    subject=item.subject,
                    version=item.version,
                    traceparent=item.traceparent,
                )
            )
        except EventError as exc:
            errors.append((index, exc))
        except Exception as exc:  # a bad topic name etc.: still report per item
            errors.append((index, EventError(str(exc))))
    if errors:
        raise BatchError(errors)
    return write(prepared)


def _outgoing(index: int, raw: Mapping[str, Any]) -> Outgoing:
    try:
        return Outgoing(**raw)
    except TypeError as exc:
        raise BatchError(
            [
                (
                    index,
                    EventError(f"{exc}; each event needs 'topic', 'type' and 'data'."),
                )
            ]
        ) from exc


def _published(item: Prepared, sid: bytes | str) -> Published:
    text = sid.decode() if isinstance(sid, bytes) else sid
    return Published(item.event_id, Position(item.topic, item.partition, text))
