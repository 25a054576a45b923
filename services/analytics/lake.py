"""The Parquet side of the lake: layout, schema, atomic file writes, reads.

Layout: ``<lake>/topic=<topic>/date=<YYYY-MM-DD>/part-<first id>-<partition>.parquet``
(Hive partitioning, so ``pyarrow.dataset``, pandas and DuckDB's
``read_parquet('<lake>/**/*.parquet', hive_partitioning=true)`` see ``topic``
and ``date`` as columns). The date is the UTC day of the event's stream id,
that is when the log appended it: the log can be read back by that time
(``rebuild_day``), which it cannot by the producer's ``time`` attribute.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

from eventbus.envelope import Event
from services.analytics.exceptions import LakeConfigError

SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),
        pa.field("subject", pa.string()),
        pa.field("partitionkey", pa.string()),
        pa.field("time", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("partition", pa.int32(), nullable=False),
        pa.field("stream_id", pa.string(), nullable=False),
        pa.field("data", pa.string(), nullable=False),
        pa.field("dataschema", pa.string()),
    ]
)
COLUMNS = tuple(SCHEMA.names)
Row = dict[str, Any]


def lake_root() -> Path:
    """Return the lake directory (ANALYTICS_LAKE_PATH, default BASE_DIR/var/lake)."""
    raw = getattr(settings, "ANALYTICS_LAKE_PATH", None)
    if raw is None:
        return Path(settings.BASE_DIR) / "var" / "lake"
    if not str(raw).strip():
        raise LakeConfigError(
            "ANALYTICS_LAKE_PATH is empty. Set it to a writable directory, or "
            "remove it to use BASE_DIR/var/lake."
        )
    return Path(raw)


def day_dir(topic: str, day: date, root: Path | None = None) -> Path:
    """Return the directory of one topic's day."""
    return (root or lake_root()) / f"topic={topic}" / f"date={day.isoformat()}"


def file_name(first_stream_id: str, partition: int) -> str:
    """Return the name of a file whose first event has ``first_stream_id``."""
    return f"part-{first_stream_id}-{partition}.parquet"


def stream_day(stream_ms: int) -> date:
    """Return the UTC day of a stream id's milliseconds."""
    return datetime.fromtimestamp(stream_ms / 1000, UTC).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Return the UTC start (inclusive) and end (exclusive) of ``day``."""
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def encode_data(data: Any) -> str:
    """Return the JSON text stored in the ``data`` column (keys sorted)."""
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


def parse_time(value: str) -> datetime:
    """Return an event's RFC 3339 ``time`` as an aware UTC datetime."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # the envelope promises UTC
    return parsed.astimezone(UTC)


def row_from_event(event: Event) -> Row:
    """Return the lake row of an event read from the log (it has a position)."""
    if event.position is None:
        raise ValueError(
            f"Event {event.id} has no position; only events read from the log "
            "can be archived."
        )
    return {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "subject": event.subject,
        "partitionkey": event.partitionkey,
        "time": parse_time(event.time),
        "partition": event.position.partition,
        "stream_id": event.position.stream_id,
        "data": encode_data(event.data),
        "dataschema": event.dataschema,
    }


def write_file(path: Path, rows: Sequence[Row]) -> None:
    """Write ``rows`` to ``path`` atomically (a temp file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(list(rows), schema=SCHEMA)
    # A dot-name in the same directory: readers skip hidden files, and the
    # rename is atomic, so nobody ever reads half a file.
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("part-*.parquet")) if directory.is_dir() else []


def archived_ids(topic: str, day: date) -> set[str]:
    """Return the event ids already in the lake for a topic's day."""
    ids: set[str] = set()
    for path in _files(day_dir(topic, day)):
        ids.update(pq.read_table(path, columns=["id"]).column("id").to_pylist())
    return ids


def read_day(topic: str, day: date) -> pa.Table:
    """Return a topic's day as one table, ordered by stream id then partition."""
    tables = [
        pq.read_table(path, schema=SCHEMA) for path in _files(day_dir(topic, day))
    ]
    if not tables:
        return SCHEMA.empty_table()
    table = pa.concat_tables(tables)
    keys = list(
        zip(
            table.column("stream_id").to_pylist(),
            table.column("partition").to_pylist(),
            strict=True,
        )
    )
    order = sorted(range(table.num_rows), key=lambda i: (_sid(keys[i][0]), keys[i][1]))
    return table.take(order)


def _sid(stream_id: str) -> tuple[int, int]:
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq)


def sort_rows(rows: Iterable[Row]) -> list[Row]:
    """Return rows ordered by stream id, then partition."""
    return sorted(rows, key=lambda r: (_sid(r["stream_id"]), r["partition"]))


def swap_day(topic: str, day: date, staging: Path) -> None:
    """Replace a day's directory by ``staging`` (renames, then delete the old)."""
    target = day_dir(topic, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    old = target.parent / f".date={day.isoformat()}.old-{uuid.uuid4().hex}"
    if target.exists():
        os.replace(target, old)
    os.replace(staging, target)
    shutil.rmtree(old, ignore_errors=True)


def staging_dir(topic: str, day: date) -> Path:
    """Return a fresh hidden directory beside the day's, for a rebuild."""
    parent = day_dir(topic, day).parent
    path = parent / f".date={day.isoformat()}.new-{uuid.uuid4().hex}"
    path.mkdir(parents=True)
    return path


def parse_stream_id(stream_id: str) -> tuple[int, int]:
    """Return a stream id's (ms, seq)."""
    return _sid(stream_id)
