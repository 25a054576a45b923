"""One dead letter: the record, how it is built from an exception, its stream form.

The consumer runtime builds letters with ``dead_letter_from`` and queues them
with ``add_dead_letter`` on the pipeline that acks the failed event, so an
event is never both pending and dead-lettered. Public names are re-exported
by ``eventbus.deadletters``.
"""

from __future__ import annotations

import traceback as tb
from dataclasses import dataclass
from typing import Any

import redis
from redis.typing import EncodableT, FieldT

from eventbus.envelope import FIELD, Event, Position
from eventbus.keys import dead_letter_key
from eventbus.streams import text

# A recursion error's traceback can run to megabytes; the head says where the
# handler started and the tail where it failed, so both are kept.
MAX_TRACEBACK_CHARS = 16 * 1024
MAX_MESSAGE_CHARS = 4 * 1024
_HEAD_CHARS = 2 * 1024

# Stream field names: short, stable, and read by the console and the runtime.
F_TOPIC = "topic"
F_GROUP = "group"
F_PARTITION = "partition"
F_ID = "id"
F_ERROR_TYPE = "error_type"
F_ERROR_MESSAGE = "error_message"
F_TRACEBACK = "traceback"
F_ATTEMPTS = "attempts"
F_FIRST_FAILURE = "first_failure_ms"
F_LAST_FAILURE = "last_failure_ms"
F_DEAD_AT = "dead_at_ms"


@dataclass(frozen=True)
class DeadLetter:
    """An event a group's handler gave up on, with why, when and where it was."""

    dlq_id: str | None  # id in the dead-letter stream; None before it is added
    topic: str
    group: str
    partition: int | None  # None when it failed again after a redrive
    stream_id: str  # the original position (partition stream id)
    wire: bytes  # the original encoded envelope, unchanged
    error_type: str  # "ValueError", or qualified: "myapp.errors.Boom"
    error_message: str
    traceback: str
    attempts: int
    first_failure_ms: int
    last_failure_ms: int
    dead_at_ms: int

    @property
    def event(self) -> Event:
        """Return the decoded envelope (raises if the wire is not one)."""
        position = None
        if self.partition is not None:
            position = Position(self.topic, self.partition, self.stream_id)
        return Event.from_wire(self.wire, position)

    @property
    def event_type(self) -> str | None:
        """Return the event's type, or None when the wire is not an envelope."""
        try:
            return self.event.type
        except Exception:
            # A poison event may be poison because it does not decode; it is
            # still listed, searched by text, redriven and purged.
            return None

    def to_fields(self) -> dict[FieldT, EncodableT]:
        """Return the letter as dead-letter stream fields."""
        return {
            text(FIELD): self.wire,
            F_TOPIC: self.topic,
            F_GROUP: self.group,
            F_PARTITION: "" if self.partition is None else self.partition,
            F_ID: self.stream_id,
            F_ERROR_TYPE: self.error_type,
            F_ERROR_MESSAGE: self.error_message,
            F_TRACEBACK: self.traceback,
            F_ATTEMPTS: self.attempts,
            F_FIRST_FAILURE: self.first_failure_ms,
            F_LAST_FAILURE: self.last_failure_ms,
            F_DEAD_AT: self.dead_at_ms,
        }

    @classmethod
    def from_entry(cls, dlq_id: bytes | str, fields: dict[Any, Any]) -> DeadLetter:
        """Decode one dead-letter stream entry (bytes or str replies)."""
        raw = {text(name): value for name, value in fields.items()}
        wire = raw.get(text(FIELD), b"")
        partition = text(raw.get(F_PARTITION, ""))

        def num(name: str) -> int:
            value = text(raw.get(name, "0"))
            return int(value) if value.lstrip("-").isdigit() else 0

        return cls(
            dlq_id=text(dlq_id),
            topic=text(raw.get(F_TOPIC, "")),
            group=text(raw.get(F_GROUP, "")),
            partition=int(partition) if partition.isdigit() else None,
            stream_id=text(raw.get(F_ID, "")),
            wire=wire if isinstance(wire, bytes) else str(wire).encode(),
            error_type=text(raw.get(F_ERROR_TYPE, "")),
            error_message=text(raw.get(F_ERROR_MESSAGE, "")),
            traceback=text(raw.get(F_TRACEBACK, "")),
            attempts=num(F_ATTEMPTS),
            first_failure_ms=num(F_FIRST_FAILURE),
            last_failure_ms=num(F_LAST_FAILURE),
            dead_at_ms=num(F_DEAD_AT),
        )


def add_dead_letter(
    target: redis.Redis | redis.client.Pipeline, letter: DeadLetter
) -> None:
    """Append ``letter`` to its group's dead-letter stream (queued on a pipeline).

    No MAXLEN: dead letters are never trimmed silently; they leave only by
    redrive or purge.
    """
    target.xadd(dead_letter_key(letter.topic, letter.group), letter.to_fields())


def error_type_name(exc: BaseException) -> str:
    """Return the exception's class name, module-qualified unless a builtin."""
    cls = type(exc)
    if cls.__module__ in ("builtins", "__builtin__"):
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _clip(value: str, limit: int, head: int) -> str:
    if len(value) <= limit:
        return value
    cut = len(value) - limit
    marker = f"\n... [{cut} characters cut] ...\n"
    tail = limit - head - len(marker)
    return value[:head] + marker + value[-tail:]


def _message(exc: BaseException) -> str:
    try:
        message = str(exc)
    except Exception as failure:
        # A broken __str__ must not stop the event from being dead-lettered.
        message = f"<str() of the exception failed: {failure!r}>"
    return _clip(message, MAX_MESSAGE_CHARS, MAX_MESSAGE_CHARS // 2)


def _traceback(exc: BaseException) -> str:
    try:
        lines = tb.format_exception(type(exc), exc, exc.__traceback__)
    except Exception as failure:
        lines = [f"<the traceback could not be formatted: {failure!r}>"]
    # Each part is clipped first, so a huge message in the last line cannot
    # push the frames out (the full message is kept in error_message).
    parts = [_clip(line, _HEAD_CHARS, _HEAD_CHARS // 2) for line in lines]
    return _clip("".join(parts), MAX_TRACEBACK_CHARS, _HEAD_CHARS)


def dead_letter_from(
    topic: str,
    group: str,
    partition: int | None,
    stream_id: str,
    wire: bytes,
    exc: BaseException,
    attempts: int,
    first_failure_ms: int,
    last_failure_ms: int,
    now_ms: int,
) -> DeadLetter:
    """Build a letter for ``wire`` from the exception its last attempt raised."""
    return DeadLetter(
        dlq_id=None,
        topic=topic,
        group=group,
        partition=partition,
        stream_id=stream_id,
        wire=wire if isinstance(wire, bytes) else str(wire).encode(),
        error_type=error_type_name(exc),
        error_message=_message(exc),
        traceback=_traceback(exc),
        attempts=attempts,
        first_failure_ms=first_failure_ms,
        last_failure_ms=last_failure_ms,
        dead_at_ms=now_ms,
    )
