"""The CloudEvents 1.0 envelope, structured JSON on the wire (orjson)."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from typing import Any, NamedTuple

import orjson

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
# The single stream field that carries the encoded envelope.
FIELD = b"e"

_getrandbits = random.getrandbits

_ATTRIBUTES = (
    "id",
    "source",
    "specversion",
    "type",
    "time",
    "subject",
    "datacontenttype",
    "dataschema",
    "partitionkey",
    "traceparent",
)


_VERSION_AND_VARIANT = (0x7 << 76) | (0x2 << 62)
_RANDOM_BITS = ((1 << 12) - 1) << 64 | ((1 << 62) - 1)


def new_event_id(ms: int | None = None) -> str:
    """Return a UUIDv7 string: 48-bit ms time prefix, then 74 random bits.

    ``random``, not ``os.urandom``: ids need uniqueness, not secrecy, and the
    syscall doubled the cost of an id on the publish path. The module
    reseeds itself in forked children, so workers never share a sequence.
    """
    if ms is None:
        ms = time.time_ns() // 1_000_000
    value = (ms & 0xFFFF_FFFF_FFFF) << 80 | _VERSION_AND_VARIANT
    h = f"{value | (_getrandbits(76) & _RANDOM_BITS):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def now_rfc3339() -> str:
    """Return the current UTC time as RFC 3339 with microseconds."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def dataschema_uri(event_type: str, version: int) -> str:
    """Return the ``dataschema`` URI naming a registered schema version."""
    return f"urn:switchyard:schema:{event_type}:{version}"


class Position(NamedTuple):
    """Where an event sits in the log: topic, partition and stream id.

    A NamedTuple, not a frozen dataclass: publish_many builds one per event,
    and a frozen dataclass's __init__ costs several times more.
    """

    topic: str
    partition: int
    stream_id: str

    @property
    def ms(self) -> int:
        """Milliseconds since the epoch at which Redis appended the event."""
        return int(self.stream_id.split("-", 1)[0])

    def as_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "partition": self.partition, "id": self.stream_id}


class Event(NamedTuple):
    """One CloudEvent plus, once read from the log, its position.

    Immutable like a frozen dataclass but built several times faster: every
    consumed event is decoded into one on the consumer's hot path.
    """

    id: str
    source: str
    type: str
    time: str
    data: Any
    subject: str | None = None
    partitionkey: str | None = None
    traceparent: str | None = None
    dataschema: str | None = None
    specversion: str = SPECVERSION
    datacontenttype: str = CONTENT_TYPE
    position: Position | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the structured-mode CloudEvent (absent attributes left out)."""
        out: dict[str, Any] = {}
        for name in _ATTRIBUTES:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        out["data"] = self.data
        return out

    def to_wire(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, raw: dict[str, Any], position: Position | None = None) -> Event:
        get = raw.get
        return cls(
            raw["id"],
            raw["source"],
            raw["type"],
            raw["time"],
            get("data"),
            get("subject"),
            get("partitionkey"),
            get("traceparent"),
            get("dataschema"),
            get("specversion", SPECVERSION),
            get("datacontenttype", CONTENT_TYPE),
            position,
        )

    @classmethod
    def from_wire(cls, wire: bytes | str, position: Position | None = None) -> Event:
        return cls.from_dict(orjson.loads(wire), position)

    @classmethod
    def from_entry(
        cls, topic: str, partition: int, stream_id: bytes | str, fields: dict[Any, Any]
    ) -> Event:
        """Decode one stream entry as returned by XRANGE/XREAD(GROUP)."""
        sid = stream_id.decode() if isinstance(stream_id, bytes) else stream_id
        wire = fields.get(FIELD)
        if wire is None:
            wire = fields["e"]
        return cls.from_wire(wire, Position(topic, partition, sid))
