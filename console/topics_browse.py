"""The message browser: filters from the query string, pages and exports.

Every read goes through ``eventbus.read_range`` (no consumer group is
touched, so browsing never affects delivery). The same ``Query`` drives the
page, the JSON export and the CSV export, so an export is exactly the
selection on screen, from its first event on.
"""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from console.topics_stats import ms_to_text
from eventbus import Event, read_range
from eventbus.reading import Page
from eventbus.streams import is_number, split_id
from eventbus.topics import TopicInfo

PAGE_SIZES = (10, 25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 25
# Exports stop here (and say so): an export is a selection, not a dump.
EXPORT_LIMIT = 10_000
EXPORT_SECONDS = 15.0
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Query:
    """One browser query: where to read from, which events, which page."""

    partition: int | None = None
    start: str | None = None  # stream id, inclusive
    end: str | None = None  # stream id, exclusive
    types: list[str] = field(default_factory=list)
    key: str | None = None
    subject: str | None = None
    text: str | None = None
    newest_first: bool = True
    size: int = DEFAULT_PAGE_SIZE
    cursor: str | None = None

    def read_kwargs(self) -> dict[str, Any]:
        """Return the ``read_range`` arguments (without limit and cursor)."""
        return {
            "start": self.start,
            "end": self.end,
            "partitions": None if self.partition is None else [self.partition],
            "types": self.types or None,
            "key": self.key,
            "subject": self.subject,
            "text": self.text,
            "reverse": self.newest_first,
        }

    def described(self) -> dict[str, Any]:
        """Return the filters as recorded in an export's header."""
        kwargs = self.read_kwargs()
        kwargs["order"] = "newest first" if kwargs.pop("reverse") else "oldest first"
        return {k: v for k, v in kwargs.items() if v not in (None, [])}


def to_stream_id(value: str, what: str) -> str:
    """Return the stream id a seek value means; raise ValueError saying why not.

    Accepts a stream id ('1700000000000-0'), milliseconds since the epoch, a
    date/time (ISO 8601; without a zone it is UTC) or a UUIDv7 event id
    (whose first 48 bits are the ms it was made at).
    """
    value = value.strip()
    parts = split_id(value)
    if parts is not None:
        return f"{parts[0]}-{parts[1]}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is not None:
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        # Integer arithmetic: float timestamps can land 1 ms early.
        return f"{max((aware - _EPOCH) // timedelta(milliseconds=1), 0)}-0"
    try:
        event_id = uuid.UUID(value)
    except ValueError:
        event_id = None
    if event_id is not None and event_id.version == 7:
        return f"{event_id.int >> 80}-0"
    raise ValueError(
        f"The {what} {value!r} is not a time or position. Use a date and time "
        "such as 2024-05-01T12:00 (UTC), a stream id such as 1700000000000-0, "
        "milliseconds since the epoch, or an event id (UUIDv7)."
    )


def parse_query(info: TopicInfo, params: Mapping[str, str]) -> tuple[Query, list[str]]:
    """Return the query the parameters ask for and the problems found in them."""
    errors: list[str] = []
    get = params.get

    def text(name: str) -> str | None:
        value = (get(name) or "").strip()
        return value or None

    partition = None
    if text("partition") is not None:
        raw = text("partition") or ""
        if is_number(raw) and int(raw) < info.partitions:
            partition = int(raw)
        else:
            errors.append(
                f"Partition {raw!r} does not exist: pick 0 to {info.partitions - 1}."
            )
    bounds: dict[str, str | None] = {"start": None, "end": None}
    for name, what in (("start", "start"), ("end", "end")):
        value = text(name)
        if value is not None:
            try:
                bounds[name] = to_stream_id(value, what)
            except ValueError as exc:
                errors.append(str(exc))
    order = text("order")
    if order not in (None, "newest", "oldest"):
        errors.append(f"Order {order!r} is unknown: use 'newest' or 'oldest'.")
        order = None
    # Seeking to a start reads forward from it unless asked otherwise.
    newest_first = order == "newest" or (order is None and bounds["start"] is None)
    size = DEFAULT_PAGE_SIZE
    if text("size") is not None:
        raw = text("size") or ""
        if is_number(raw) and int(raw) in PAGE_SIZES:
            size = int(raw)
        else:
            errors.append(f"Page size {raw!r} is not one of {PAGE_SIZES}.")
    types = [t.strip() for t in (text("type") or "").split(",") if t.strip()]
    query = Query(
        partition=partition,
        start=bounds["start"],
        end=bounds["end"],
        types=types,
        key=text("key"),
        subject=text("subject"),
        text=text("q"),
        newest_first=newest_first,
        size=size,
        cursor=text("cursor"),
    )
    return query, errors


def read_page(info: TopicInfo, query: Query) -> Page:
    """Read the page the query asks for; raise ReadError on a bad cursor/range."""
    return read_range(
        info.name, limit=query.size, cursor=query.cursor, **query.read_kwargs()
    )


@dataclass
class Selection:
    """The events an export holds, and whether the export limit cut it short."""

    events: list[Event]
    truncated: bool
    reason: str = ""


def select(info: TopicInfo, query: Query, limit: int | None = None) -> Selection:
    """Read the query's events from its first on, up to ``limit`` (EXPORT_LIMIT)."""
    limit = EXPORT_LIMIT if limit is None else limit
    events: list[Event] = []
    cursor = None
    deadline = time.monotonic() + EXPORT_SECONDS
    while True:
        page = read_range(
            info.name,
            limit=min(limit - len(events) + 1, 1000),
            cursor=cursor,
            **query.read_kwargs(),
        )
        events.extend(page.events)
        if len(events) > limit:
            return Selection(events[:limit], True, f"the first {limit:,} events")
        cursor = page.next_cursor
        if cursor is None:
            return Selection(events, False)
        if time.monotonic() > deadline:
            reason = f"what {EXPORT_SECONDS:g}s of reading found"
            return Selection(events, True, reason)


def _position(event: Event) -> dict[str, Any]:
    return event.position.as_dict() if event.position else {}


def export_json(
    info: TopicInfo, query: Query, selection: Selection, limit: int
) -> bytes:
    """Return the selection as one JSON document: filters, count, events."""
    document = {
        "topic": info.name,
        "filters": query.described(),
        "count": len(selection.events),
        "truncated": selection.truncated,
        "limit": limit,
        "events": [
            {"position": _position(e), "event": e.to_dict()} for e in selection.events
        ],
    }
    return orjson.dumps(document, option=orjson.OPT_INDENT_2)


CSV_COLUMNS = [
    "partition",
    "stream_id",
    "appended_at",
    "id",
    "type",
    "source",
    "time",
    "subject",
    "partitionkey",
    "dataschema",
    "data",
]


def export_csv(selection: Selection) -> Iterator[str]:
    """Yield the selection as CSV lines, one event per row, data as JSON."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for event in selection.events:
        pos = event.position
        writer.writerow(
            [
                pos.partition if pos else "",
                pos.stream_id if pos else "",
                ms_to_text(pos.ms) if pos else "",
                event.id,
                event.type,
                event.source,
                event.time,
                event.subject or "",
                event.partitionkey or "",
                event.dataschema or "",
                orjson.dumps(event.data).decode(),
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def preview(data: Any, width: int = 140) -> str:
    """Return compact JSON of ``data`` cut to ``width`` characters."""
    raw = orjson.dumps(data).decode()
    return raw if len(raw) <= width else raw[: width - 1] + "…"
