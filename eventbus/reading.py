"""Reading the log without a consumer group: ranges (paged, merged) and live tail.

Reads never create or move consumer groups, so browsing or tailing a topic
never affects delivery. Partitions are merged in time order: by stream id
(ms, then sequence), then by partition number.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import heapq
import logging
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

import orjson
import redis

from eventbus.client import get_redis, redis_errors
from eventbus.envelope import Event
from eventbus.exceptions import InvalidCursor, InvalidRange
from eventbus.keys import stream_key
from eventbus.partitioning import partition_for
from eventbus.streams import MAX_ID_PART, split_id, text
from eventbus.topics import TopicInfo, get_topic

logger = logging.getLogger(__name__)

Bound = int | datetime | str | None
StreamId = tuple[int, int]
# Entries examined per read_range call at most: a page whose filters skip
# many events comes back short (even empty) with a cursor, not slow.
SCAN_LIMIT = 10_000
MAX_CHUNK = 1000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# (ms, seq, partition, id, fields): sorting on the first three merges
# partitions in time order; they are unique, so fields are never compared.
Entry = tuple[int, int, int, str, dict[Any, Any]]


@dataclass(frozen=True)
class Page:
    """One page of ``read_range``; pass ``next_cursor`` back to read the next."""

    events: list[Event]
    next_cursor: str | None  # None: nothing more in the range


def _fmt(sid: StreamId) -> str:
    return f"{sid[0]}-{sid[1]}"


def to_stream_id(bound: int | datetime | str, what: str = "bound") -> StreamId:
    """Return the first stream id at ``bound``: ms, datetime or ``"<ms>-<seq>"``.

    A naive datetime is taken as UTC; a bare ``"<ms>"`` string means ``<ms>-0``.
    """
    if isinstance(bound, datetime):
        aware = bound if bound.tzinfo else bound.replace(tzinfo=UTC)
        return (max((aware - _EPOCH) // timedelta(milliseconds=1), 0), 0)
    if isinstance(bound, int) and not isinstance(bound, bool):
        parts = (bound, 0) if 0 <= bound <= MAX_ID_PART else None
    else:
        parts = split_id(bound)
    if parts is None:
        raise InvalidRange(
            f"The {what} {bound!r} is not a time or stream id. Pass milliseconds "
            "since the epoch (int), a datetime, or a stream id such as "
            "'1700000000000-0' (each part at most 2**64-1)."
        )
    return parts


def select_partitions(
    info: TopicInfo, partitions: Iterable[int] | None, key: str | None
) -> list[int]:
    """Return the partitions to read: the key's only, if a key is given."""
    chosen = sorted(set(info.partition_ids if partitions is None else partitions))
    bad = [p for p in chosen if p not in info.partition_ids]
    if bad:
        raise InvalidRange(
            f"Topic '{info.name}' has partitions 0-{info.partitions - 1}; "
            f"{bad} do not exist. Pick partitions from that range."
        )
    if key is not None:
        own = partition_for(key, info.partitions)
        chosen = [p for p in chosen if p == own]
    return chosen


def matcher(
    types: str | Sequence[str] | None,
    key: str | None,
    subject: str | None,
    text: str | None = None,
) -> Callable[[Event], bool]:
    """Return a predicate for the filters: type patterns, key, subject, text.

    ``text`` matches case-insensitively anywhere in the JSON of the data.
    """
    patterns = [types] if isinstance(types, str) else list(types or [])
    needle = text.casefold() if text else None

    def match(event: Event) -> bool:
        if patterns and not any(fnmatchcase(event.type, p) for p in patterns):
            return False
        if key is not None and event.partitionkey != key:
            return False
        if subject is not None and event.subject != subject:
            return False
        return needle is None or needle in orjson.dumps(event.data).decode().casefold()

    return match


def decode(topic: str, entry: Entry) -> Event | None:
    """Decode an entry; log and return None for one that is not an envelope."""
    try:
        return Event.from_entry(topic, entry[2], entry[3], entry[4])
    except (KeyError, TypeError, orjson.JSONDecodeError) as exc:
        # Only the bus writes these streams, but one bad entry must not make
        # a range unreadable: it is skipped (and counted as read) with a log.
        logger.warning(
            "Skipped entry %s of %s partition %d: not an event envelope (%r).",
            entry[3],
            topic,
            entry[2],
            exc,
        )
        return None


def entries(
    client: redis.Redis,
    key: str,
    partition: int,
    low: str,
    high: str,
    *,
    reverse: bool = False,
    chunk: int = 100,
) -> Iterator[Entry]:
    """Yield one partition's entries between XRANGE bounds, fetched in chunks.

    ``low``/``high`` use XRANGE syntax ("-", "+", "<id>", "(<id>"); with
    ``reverse`` entries come newest first (XREVRANGE).
    """
    while True:
        read = client.xrevrange if reverse else client.xrange
        first, second = (high, low) if reverse else (low, high)
        rows: list[Any] = read(key, first, second, count=chunk) or []
        for raw_id, fields in rows:
            sid = text(raw_id)
            ms, _, seq = sid.partition("-")
            yield (int(ms), int(seq), partition, sid, fields)
        if len(rows) < chunk:
            return
        if reverse:
            high = f"({text(rows[-1][0])}"
        else:
            low = f"({text(rows[-1][0])}"
        chunk = min(chunk * 2, MAX_CHUNK)


def xread_entries(reply: Any, keys: dict[str, int]) -> list[Entry]:
    """Return an XREAD reply's entries in time order across partitions.

    ``keys`` maps each stream key read to its partition. The reply is a dict
    under RESP3 and a list of pairs under RESP2; both are accepted.
    """
    rows: Iterable[Any] = reply.items() if isinstance(reply, dict) else reply or []
    batch: list[Entry] = []
    for raw_key, found in rows:
        p = keys[text(raw_key)]
        for raw_id, fields in found:
            sid = text(raw_id)
            ms, _, seq = sid.partition("-")
            batch.append((int(ms), int(seq), p, sid, fields))
    batch.sort(key=lambda e: e[:3])
    return batch


def merged(
    streams: Sequence[Iterator[Entry]], reverse: bool = False
) -> Iterator[Entry]:
    """Merge per-partition entry streams in time order (ms, seq, partition)."""
    return heapq.merge(*streams, key=lambda e: e[:3], reverse=reverse)


def read_range(
    topic: str,
    *,
    start: Bound = None,
    end: Bound = None,
    partitions: Iterable[int] | None = None,
    types: str | Sequence[str] | None = None,
    key: str | None = None,
    subject: str | None = None,
    text: str | None = None,
    limit: int = 100,
    cursor: str | None = None,
    reverse: bool = False,
    scan_limit: int = SCAN_LIMIT,
    client: redis.Redis | None = None,
) -> Page:
    """Read up to ``limit`` events of ``topic`` in time order, merged, filtered.

    ``start`` is inclusive and ``end`` exclusive, so consecutive windows never
    overlap; each is ms since the epoch, a datetime (naive = UTC) or a stream
    id such as ``"1700000000000-0"``, applied to every partition. ``types``
    are fnmatch patterns ("order.*"); ``key`` reads only the key's partition
    and keeps events with that partition key; ``subject`` matches exactly;
    ``text`` is a case-insensitive substring of the data's JSON. ``reverse``
    returns newest first. A page may hold fewer than ``limit`` events when
    filters skip many (at most ``scan_limit`` entries are read per call):
    keep reading while ``next_cursor`` is not None.
    """
    if limit < 1 or scan_limit < 1:
        raise InvalidRange(
            f"limit ({limit}) and scan_limit ({scan_limit}) must be at least 1."
        )
    info = get_topic(topic)
    parts = select_partitions(info, partitions, key)
    low = to_stream_id(start, "start") if start is not None else None
    high = to_stream_id(end, "end") if end is not None else None
    patterns = sorted([types] if isinstance(types, str) else set(types or []))
    # Text joins the fingerprint only when given: cursors of queries without
    # it stay valid across this addition.
    query = _fingerprint(
        info.name,
        low,
        high,
        parts,
        patterns,
        key,
        subject,
        reverse,
        *([text] if text else []),
    )
    read_to = _decode_cursor(cursor, query, parts) if cursor else {}
    if not parts or (high is not None and (high == (0, 0) or (low or (0, 0)) >= high)):
        return Page([], None)
    client = client or get_redis()
    chunk = max(8, min(-(-limit // len(parts)) + 1, MAX_CHUNK))
    streams = []
    for p in parts:
        lo = _fmt(low) if low else "-"
        hi = f"({_fmt(high)}" if high else "+"
        if p in read_to:  # resume strictly after what earlier pages consumed
            if reverse:
                hi = f"({read_to[p]}"
            else:
                lo = f"({read_to[p]}"
        key_name = stream_key(info.name, p)
        streams.append(
            entries(client, key_name, p, lo, hi, reverse=reverse, chunk=chunk)
        )
    match = matcher(patterns, key, subject, text)
    events: list[Event] = []
    scanned = 0
    more = False
    with redis_errors(f"read topic '{info.name}'"):
        for entry in merged(streams, reverse):
            if scanned >= scan_limit:
                more = True
                break
            event = decode(info.name, entry)
            if event is not None and match(event):
                if len(events) == limit:
                    # The next matching event starts the next page; the
                    # unmatched ones before it were consumed, so it is exact.
                    more = True
                    break
                events.append(event)
            read_to[entry[2]] = entry[3]
            scanned += 1
    return Page(events, _encode_cursor(query, read_to) if more else None)


def _fingerprint(*parts: Any) -> str:
    """Return a short digest of a query, so a cursor is used with its own query."""
    raw = orjson.dumps(parts)
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _encode_cursor(query: str, read_to: dict[int, str]) -> str:
    body = {"v": 1, "q": query, "p": {str(p): sid for p, sid in read_to.items()}}
    return base64.urlsafe_b64encode(orjson.dumps(body)).decode().rstrip("=")


def _decode_cursor(cursor: str, query: str, parts: list[int]) -> dict[int, str]:
    """Return the per-partition ids a cursor says were read, or raise."""
    advice = (
        "Pass the next_cursor of the previous page unchanged with the same "
        "topic, range and filters, or start again without a cursor."
    )
    try:
        body = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if body.get("v") != 1 or not isinstance(body.get("p"), dict):
            raise ValueError("unknown cursor version")
        read_to = {int(p): str(sid) for p, sid in body["p"].items()}
    except (ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise InvalidCursor(f"The cursor is corrupt ({exc}). {advice}") from exc
    if body.get("q") != query:
        raise InvalidCursor(f"The cursor belongs to a different query. {advice}")
    for p, sid in read_to.items():
        if p not in parts or split_id(sid, seq_required=True) is None:
            raise InvalidCursor(f"The cursor names partition {p} at {sid!r}. {advice}")
    return read_to


def tail(
    topic: str,
    *,
    start: Bound = "latest",
    types: str | Sequence[str] | None = None,
    key: str | None = None,
    subject: str | None = None,
    partitions: Iterable[int] | None = None,
    block_ms: int = 1000,
    stop: threading.Event | None = None,
    client: redis.Redis | None = None,
) -> Generator[Event, None, None]:
    """Follow ``topic`` live, yielding matching events with their positions.

    ``start`` is "latest" (events published from now on), "earliest", or a
    time/stream id as in ``read_range``: history is replayed in time order up
    to each partition's current end, then the tail follows live from exactly
    there (per-partition ids: no gap, no duplicate). Stops when ``stop`` is
    set (noticed within ``block_ms``) or when the generator is closed.
    """
    info = get_topic(topic)
    parts = select_partitions(info, partitions, key)
    client = client or get_redis()
    keys = {stream_key(info.name, p): p for p in parts}
    floor = None
    if start not in ("latest", "earliest"):
        floor = to_stream_id(start, "start")  # type: ignore[arg-type]
    # Resolved now, not on the first next(): "latest" means from this call on.
    # Each partition's current last entry is where history ends and live
    # reading begins; XREAD then returns only ids above it.
    last: dict[int, str] = {}
    with redis_errors(f"tail topic '{info.name}'"):
        for name, p in keys.items():
            top = client.xrevrange(name, "+", "-", count=1)
            last[p] = text(top[0][0]) if top else "0-0"
    match = matcher(types, key, subject)
    history: list[Iterator[Entry]] = []
    if start != "latest":
        low = _fmt(floor) if floor else "-"
        history = [
            entries(client, name, p, low, last[p], chunk=200)
            for name, p in keys.items()
            if last[p] != "0-0"
        ]
    return _tail(client, info.name, keys, last, history, floor, match, block_ms, stop)


def _tail(
    client: redis.Redis,
    topic: str,
    keys: dict[str, int],
    last: dict[int, str],
    history: list[Iterator[Entry]],
    floor: StreamId | None,
    match: Callable[[Event], bool],
    block_ms: int,
    stop: threading.Event | None,
) -> Generator[Event, None, None]:
    """Replay ``history`` merged in time order, then follow live."""
    if not keys:
        return
    with redis_errors(f"replay topic '{topic}'"):
        for entry in merged(history):
            if stop is not None and stop.is_set():
                return
            event = decode(topic, entry)
            if event is not None and match(event):
                yield event
    yield from _follow(client, topic, keys, last, floor, match, block_ms, stop)


def _follow(
    client: redis.Redis,
    topic: str,
    keys: dict[str, int],
    last: dict[int, str],
    floor: StreamId | None,
    match: Callable[[Event], bool],
    block_ms: int,
    stop: threading.Event | None,
) -> Iterator[Event]:
    """Yield live events with XREAD BLOCK over every partition key at once."""
    while stop is None or not stop.is_set():
        with redis_errors(f"tail topic '{topic}'"):
            reply = client.xread(
                {name: last[p] for name, p in keys.items()},
                count=500,
                block=max(int(block_ms), 1),
            )
        for entry in xread_entries(reply, keys):
            last[entry[2]] = entry[3]
            if floor is not None and entry[:2] < floor:
                continue  # a start in the future: skip what comes before it
            event = decode(topic, entry)
            if event is not None and match(event):
                yield event
