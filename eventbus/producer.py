"""Publishing: validate, wrap in a CloudEvents envelope, XADD to the key's partition."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
import redis

from eventbus.client import get_redis, redis_errors
from eventbus.conf import bus_settings
from eventbus.durability import verify_durable_reply, wait_durable
from eventbus.envelope import (
    CONTENT_TYPE,
    FIELD,
    SPECVERSION,
    Position,
    new_event_id,
    now_rfc3339,
)
from eventbus.exceptions import (
    BatchError,
    BusError,
    EventError,
    EventTooLarge,
    NotSerializable,
)
from eventbus.keys import stream_key
from eventbus.partitioning import partition_for
from eventbus.schemas import EventType, get_event_type
from eventbus.topics import TopicInfo, get_topic

# Appends a batch in one command: atomic (a script runs to the end before any
# other command), one reply, and cheaper for the client than a pipeline of
# XADDs. Its keys span partitions, so on Redis Cluster a batch would have to
# be split per slot (not supported yet: the bus targets one primary).
_APPEND = """
local ids = {}
for i = 1, #KEYS do
  ids[i] = redis.call("XADD", KEYS[i], "*", "e", ARGV[i])
end
return ids
"""
# Keeps one script call well under a millisecond of server time.
CHUNK = 1000


class Published(NamedTuple):
    """The result of a publish: the event's id and where it landed in the log."""

    event_id: str
    position: Position


class Prepared(NamedTuple):
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
    settings = bus_settings()
    return _encode(
        info,
        event_type,
        data,
        key,
        subject,
        traceparent,
        source or settings.source,
        event_id or new_event_id(),
        now_rfc3339(),
        settings.max_event_bytes,
    )


def _encode(
    info: TopicInfo,
    event_type: EventType,
    data: Any,
    key: str | None,
    subject: str | None,
    traceparent: str | None,
    source: str,
    event_id: str,
    stamp: str,
    limit: int,
) -> Prepared:
    if key is not None and not isinstance(key, str):
        raise EventError(f"The partition key must be a string, not {key!r}.")
    event_type.validate(data)
    # The envelope is built as a dict, not through Event: this is the hot
    # path of publish, and Event.from_wire reads exactly these attributes.
    envelope = {
        "id": event_id,
        "source": source,
        "specversion": SPECVERSION,
        "type": event_type.type,
        "time": stamp,
        "datacontenttype": CONTENT_TYPE,
        "dataschema": event_type.dataschema,
    }
    if subject is not None:
        envelope["subject"] = subject
    if key is not None:
        envelope["partitionkey"] = key
    if traceparent is not None:
        envelope["traceparent"] = traceparent
    envelope["data"] = data
    try:
        wire = orjson.dumps(envelope)
    except orjson.JSONEncodeError as exc:
        raise NotSerializable(
            f"The data of this '{event_type.type}' event cannot be encoded as "
            f"JSON ({exc}). Pass only dicts, lists, strings, numbers, booleans "
            "and None."
        ) from exc
    if len(wire) > limit:
        raise EventTooLarge(
            f"The encoded '{event_type.type}' event is {len(wire)} bytes, over "
            f"the {limit}-byte limit (BUS['MAX_EVENT_BYTES']). Store large "
            "payloads elsewhere and publish a reference, or raise the limit."
        )
    return Prepared(info.name, partition_for(key, info.partitions), event_id, wire)


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
            key = stream_key(item.topic, item.partition)
            sids = [client.execute_command("XADD", key, "*", FIELD, item.wire)]
        elif len(prepared) <= CHUNK and not strict:
            sids = _append(client, prepared, client)
        else:
            # Several script calls in MULTI/EXEC stay all-or-nothing.
            pipe = client.pipeline(transaction=len(prepared) > CHUNK)
            for start in range(0, len(prepared), CHUNK):
                _append(client, prepared[start : start + CHUNK], pipe)
            waited = strict and wait_durable(client, pipe)
            replies = pipe.execute()
            if waited:
                verify_durable_reply(client, replies.pop())
            sids = [sid for chunk in replies for sid in chunk]
    return [
        Published(item.event_id, Position(item.topic, item.partition, sid.decode()))
        for item, sid in zip(prepared, sids, strict=True)
    ]


def _append(
    client: redis.Redis,
    prepared: Sequence[Prepared],
    target: redis.Redis | redis.client.Pipeline,
) -> Any:
    script = client.register_script(_APPEND)
    keys = [stream_key(item.topic, item.partition) for item in prepared]
    return script(keys=keys, args=[item.wire for item in prepared], client=target)


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
    settings = bus_settings()
    ms = time.time_ns() // 1_000_000
    stamp = now_rfc3339()
    topics: dict[str, TopicInfo] = {}
    types: dict[tuple[str, str, int | None], EventType] = {}
    prepared: list[Prepared] = []
    errors: list[tuple[int, EventError]] = []
    for index, raw in enumerate(events):
        item = raw if isinstance(raw, Outgoing) else _outgoing(index, raw)
        try:
            info = topics.get(item.topic)
            if info is None:
                info = topics[item.topic] = get_topic(item.topic)
            which = (item.topic, item.type, item.version)
            event_type = types.get(which)
            if event_type is None:
                event_type = types[which] = get_event_type(*which)
            prepared.append(
                _encode(
                    info,
                    event_type,
                    item.data,
                    item.key,
                    item.subject,
                    item.traceparent,
                    settings.source,
                    new_event_id(ms),
                    stamp,
                    settings.max_event_bytes,
                )
            )
        except EventError as exc:
            errors.append((index, exc))
        except BusError as exc:  # a bad or unknown topic: still report per item
            errors.append((index, EventError(str(exc))))
    if errors:
        raise BatchError(errors)
    return write(prepared)


def _outgoing(index: int, raw: Mapping[str, Any]) -> Outgoing:
    try:
        return Outgoing(**raw)
    except TypeError as exc:
        needs = "each event needs 'topic', 'type' and 'data'"
        raise BatchError([(index, EventError(f"{exc}; {needs}."))]) from exc
