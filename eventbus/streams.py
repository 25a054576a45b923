"""Read-only views of one partition's stream and its groups (XINFO), NULL-safe.

Redis 7 reports ``entries-read`` and ``lag`` per group; both can be NULL (see
FIELD-NOTES: after a create/reset without ENTRIESREAD, or when entries after
the group's position were deleted). Callers get ``None`` for unknown, never 0.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import redis

from eventbus.keys import stream_key

# Each half of a stream id is an unsigned 64-bit number in Redis.
MAX_ID_PART = 2**64 - 1
_DIGITS = re.compile(r"[0-9]+")
_STREAM_ID = re.compile(r"([0-9]{1,20})(?:-([0-9]{1,20}))?")


def is_number(value: object) -> bool:
    """Return whether ``value`` is a string of ASCII digits (``str.isdigit``
    also accepts '²' and other digits that ``int`` refuses)."""
    return isinstance(value, str) and _DIGITS.fullmatch(value) is not None


def split_id(value: object, *, seq_required: bool = False) -> tuple[int, int] | None:
    """Return ``(ms, seq)`` of a stream id Redis accepts, else None.

    ``'<ms>-<seq>'``, or ``'<ms>'`` alone (seq 0) unless ``seq_required``;
    ASCII digits only, each part at most ``MAX_ID_PART``: anything else would
    reach Redis and come back as an error instead of a clear refusal.
    """
    match = _STREAM_ID.fullmatch(value) if isinstance(value, str) else None
    if match is None or (seq_required and match[2] is None):
        return None
    ms, seq = int(match[1]), int(match[2] or 0)
    if ms > MAX_ID_PART or seq > MAX_ID_PART:
        return None
    return ms, seq


def text(value: object) -> str:
    """Return a Redis reply value (bytes or str) as ``str``."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _text(value: bytes | str | None) -> str | None:
    return None if value is None else text(value)


def server_ms(client: redis.Redis) -> int:
    """Return Redis's clock in ms: stream ids are stamped with it, not ours."""
    seconds, micros = client.time()
    return int(seconds) * 1000 + int(micros) // 1000


def parse_id(stream_id: str) -> tuple[int, int]:
    """Return ``(ms, seq)`` for a stream id, for comparisons."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


@dataclass(frozen=True)
class StreamState:
    """One partition's stream: length, ends and counters (XINFO STREAM)."""

    exists: bool
    length: int = 0
    first_id: str | None = None
    last_id: str | None = None  # last id ever generated (survives trims)
    entries_added: int | None = None
    max_deleted_id: str | None = None


@dataclass(frozen=True)
class GroupState:
    """One group's position on one partition (XINFO GROUPS)."""

    name: str
    last_delivered_id: str
    entries_read: int | None
    lag: int | None  # undelivered only; None when Redis cannot tell
    pending: int
    consumers: int


def stream_state(client: redis.Redis, topic: str, partition: int) -> StreamState:
    """Return the partition's stream state; ``exists`` is False for a missing key."""
    try:
        info = client.xinfo_stream(stream_key(topic, partition))
    except redis.ResponseError as exc:
        if "no such key" in str(exc).lower():
            return StreamState(exists=False)
        raise
    first = info.get("first-entry")
    return StreamState(
        exists=True,
        length=int(info["length"]),
        first_id=_text(first[0]) if first else None,
        last_id=_text(info.get("last-generated-id")),
        entries_added=info.get("entries-added"),
        max_deleted_id=_text(info.get("max-deleted-entry-id")),
    )


def group_states(
    client: redis.Redis, topic: str, partition: int
) -> dict[str, GroupState]:
    """Return every group on the partition by name; empty for a missing key."""
    try:
        rows = client.xinfo_groups(stream_key(topic, partition))
    except redis.ResponseError as exc:
        if "no such key" in str(exc).lower():
            return {}
        raise
    states: dict[str, GroupState] = {}
    for row in rows:
        name = _text(row["name"]) or ""
        states[name] = GroupState(
            name=name,
            last_delivered_id=_text(row["last-delivered-id"]) or "0-0",
            entries_read=row.get("entries-read"),
            lag=row.get("lag"),
            pending=int(row.get("pending", 0)),
            consumers=int(row.get("consumers", 0)),
        )
    return states


def oldest_pending_id(
    client: redis.Redis, topic: str, partition: int, group: str
) -> str | None:
    """Return the smallest pending id of ``group`` on the partition, if any."""
    summary = client.xpending(stream_key(topic, partition), group)
    if not summary or not summary.get("pending"):
        return None
    return _text(summary.get("min"))
