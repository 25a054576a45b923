"""Analytics' actions: the only code that writes the lake and its bookkeeping.

Design (exactly once, in batches). The consumer runtime hands a handler one
event at a time and acks what the handler returned, so a per-process buffer
flushed "later" would be acked before it is durable. Instead:

1. ``event_stage`` (the handlers) inserts one ``StagedEvent`` per event,
   unique by event id, unless the event's partition cursor already covers
   its stream id: re-deliveries and replays after a group reset add nothing.
2. ``lake_flush`` (the periodic task ``analytics.flush_lake``) writes the
   staged rows to Parquet in batches, one file per topic, day and partition,
   and in the same database transaction registers the files, advances the
   cursors and deletes the staged rows. Before writing it drops rows whose
   ids are already in that day's files ("skip event ids already archived for
   that day", docs/retail.md): that covers an event the log holds twice (an
   outbox relay that re-sent it) and a day rebuilt from the log meanwhile.

A crash after a file is renamed into place but before the commit leaves the
rows staged; the next flush finds their ids in the file, drops them and
registers the orphan file. ``lake_rebuild_day`` rewrites one day from the log.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
from django.db import IntegrityError, transaction

from eventbus.envelope import Event
from eventbus.reading import read_range
from eventbus.topics import get_topic
from services.analytics import lake
from services.analytics.exceptions import InvalidLakeRequest
from services.analytics.models import LakeCursor, LakeFile, StagedEvent

logger = logging.getLogger("services.analytics")

DEFAULT_BATCH = 50_000


@dataclass
class RebuildResult:
    """What ``lake_rebuild_day`` wrote: rows, files, and duplicate ids dropped."""

    rows: int = 0
    files: list[str] = field(default_factory=list)
    duplicates: int = 0
    kept_newer: int = 0


@dataclass
class FlushResult:
    """What one ``lake_flush`` wrote: file paths (relative), rows, rows skipped."""

    files: list[str] = field(default_factory=list)
    rows: int = 0
    skipped: int = 0


def event_stage(*, event: Event) -> bool:
    """Stage an event read from the log for the lake; False if already there."""
    if event.position is None:
        raise InvalidLakeRequest(
            f"Event {event.id} ({event.type}) has no log position; stage only "
            "events delivered by the consumer runtime or read from the log."
        )
    topic, partition, sid = event.position
    ms, seq = lake.parse_stream_id(sid)
    cursor = LakeCursor.objects.filter(topic=topic, partition=partition).first()
    if cursor is not None and (ms, seq) <= (cursor.last_ms, cursor.last_seq):
        return False  # archived already: a re-delivery or a replay
    row = lake.row_from_event(event)
    try:
        with transaction.atomic():
            StagedEvent.objects.create(
                event_id=event.id,
                topic=topic,
                partition=partition,
                stream_ms=ms,
                stream_seq=seq,
                type=row["type"],
                source=row["source"],
                subject=row["subject"],
                partitionkey=row["partitionkey"],
                dataschema=row["dataschema"],
                time=row["time"],
                data=row["data"],
            )
    except IntegrityError:
        return False  # staged already (unique event id)
    return True


def lake_flush(*, batch_size: int = DEFAULT_BATCH) -> FlushResult:
    """Write staged events to Parquet in batches until none are left."""
    if batch_size < 1:
        raise InvalidLakeRequest(f"batch_size must be at least 1, not {batch_size}.")
    result = FlushResult()
    topics = StagedEvent.objects.values_list("topic", flat=True).distinct()
    for topic in sorted(set(topics)):
        while _flush_batch(topic, batch_size, result) == batch_size:
            pass
    return result


def _flush_batch(topic: str, batch_size: int, result: FlushResult) -> int:
    """Write one batch of a topic's staged rows; return how many were taken."""
    with transaction.atomic():
        cursors = lock_cursors(topic)
        staged = list(
            StagedEvent.objects.filter(topic=topic).order_by(
                "partition", "stream_ms", "stream_seq"
            )[:batch_size]
        )
        if not staged:
            return 0
        for row in staged:
            if row.partition not in cursors:
                cursors[row.partition] = LakeCursor.objects.create(
                    topic=topic, partition=row.partition
                )
        by_day: dict[date, list[StagedEvent]] = defaultdict(list)
        for row in staged:
            cursor = cursors[row.partition]
            if (row.stream_ms, row.stream_seq) <= (cursor.last_ms, cursor.last_seq):
                result.skipped += 1  # staged in a race with the previous flush
                continue
            by_day[lake.stream_day(row.stream_ms)].append(row)
        for day, rows in sorted(by_day.items()):
            _write_day(topic, day, rows, result)
        for row in staged:
            cursor = cursors[row.partition]
            if (row.stream_ms, row.stream_seq) > (cursor.last_ms, cursor.last_seq):
                cursor.last_ms, cursor.last_seq = row.stream_ms, row.stream_seq
        for cursor in cursors.values():
            cursor.save(update_fields=["last_ms", "last_seq", "updated_at"])
        StagedEvent.objects.filter(pk__in=[row.pk for row in staged]).delete()
        return len(staged)


def lock_cursors(topic: str) -> dict[int, LakeCursor]:
    """Lock a topic's cursors: flushes and rebuilds of one topic run one at a time."""
    locked = LakeCursor.objects.select_for_update().filter(topic=topic)
    return {cursor.partition: cursor for cursor in locked.order_by("partition")}


def _write_day(
    topic: str, day: date, staged: list[StagedEvent], result: FlushResult
) -> None:
    """Write a day's new rows, one file per partition, and register the files."""
    archived = lake.archived_ids(topic, day)
    by_partition: dict[int, list[lake.Row]] = defaultdict(list)
    for row in staged:
        if row.event_id in archived:
            result.skipped += 1
            continue
        by_partition[row.partition].append(_lake_row(row))
    root = lake.lake_root()
    for partition, rows in sorted(by_partition.items()):
        path = lake.day_dir(topic, day, root) / lake.file_name(
            rows[0]["stream_id"], partition
        )
        lake.write_file(path, rows)
        register_file(topic, day, partition, path, rows, root)
        result.files.append(str(path.relative_to(root)))
        result.rows += len(rows)
    register_orphans(topic, day, root)


def _lake_row(row: StagedEvent) -> lake.Row:
    return {
        "id": row.event_id,
        "type": row.type,
        "source": row.source,
        "subject": row.subject,
        "partitionkey": row.partitionkey,
        "time": row.time,
        "partition": row.partition,
        "stream_id": f"{row.stream_ms}-{row.stream_seq}",
        "data": row.data,
        "dataschema": row.dataschema,
    }


def register_file(
    topic: str,
    day: date,
    partition: int,
    path: Path,
    rows: list[lake.Row],
    root: Path,
) -> LakeFile:
    """Record a written file (rows ordered by stream id) in ``LakeFile``."""
    times = [row["time"] for row in rows]
    record, _ = LakeFile.objects.update_or_create(
        path=str(path.relative_to(root)),
        defaults={
            "topic": topic,
            "date": day,
            "partition": partition,
            "rows": len(rows),
            "first_stream_id": rows[0]["stream_id"],
            "last_stream_id": rows[-1]["stream_id"],
            "first_time": min(times),
            "last_time": max(times),
        },
    )
    return record


def register_orphans(topic: str, day: date, root: Path) -> None:
    """Register files of a day that a crash left on disk but not in the table."""
    directory = lake.day_dir(topic, day, root)
    known = set(
        LakeFile.objects.filter(topic=topic, date=day).values_list("path", flat=True)
    )
    for path in sorted(directory.glob("part-*.parquet")):
        if str(path.relative_to(root)) in known:
            continue
        rows = lake.sort_rows(pq.read_table(path, schema=lake.SCHEMA).to_pylist())
        if rows:
            logger.warning("Registering lake file %s left by an earlier crash.", path)
            register_file(topic, day, rows[0]["partition"], path, rows, root)


def lake_rebuild_day(*, topic: str, day: date, force: bool = False) -> RebuildResult:
    """Rewrite a topic's day of the lake from the log, one file per partition.

    The day is read with ``read_range`` (UTC, by stream id), each event id
    kept once, written to a hidden directory and swapped in under the
    topic's cursor lock. Events the lake has for that day but the log no
    longer does (trimmed) would be lost: that is refused unless ``force``.
    Events archived after the read began (a flush meanwhile) are kept.
    """
    get_topic(topic)  # UnknownTopic, with its advice, for a wrong name
    start, end = lake.day_bounds(day)
    read_from = (time.time_ns() // 1_000_000, 0)
    rows: dict[str, lake.Row] = {}
    result = RebuildResult()
    cursor: str | None = None
    while True:
        page = read_range(topic, start=start, end=end, limit=1000, cursor=cursor)
        for event in page.events:
            if event.id in rows:
                result.duplicates += 1  # the log holds it twice: keep the first
            else:
                rows[event.id] = lake.row_from_event(event)
        cursor = page.next_cursor
        if cursor is None:
            break
    staging = lake.staging_dir(topic, day)
    try:
        with transaction.atomic():
            lock_cursors(topic)
            current = lake.read_day(topic, day).to_pylist()
            missing = [
                r
                for r in current
                if r["id"] not in rows
                and lake.parse_stream_id(r["stream_id"]) < read_from
            ]
            if missing and not force:
                raise InvalidLakeRequest(
                    f"The log no longer holds {len(missing)} event(s) of {topic} "
                    f"on {day} that the lake has (trimmed by retention?), e.g. "
                    f"{missing[0]['id']}; rebuilding would drop them. Pass "
                    "force=True (--force) to rebuild anyway."
                )
            for r in current:
                if r["id"] not in rows and r not in missing:
                    rows[r["id"]] = r
                    result.kept_newer += 1
            _write_rebuilt(topic, day, staging, list(rows.values()), result)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _write_rebuilt(
    topic: str, day: date, staging: Path, rows: list[lake.Row], result: RebuildResult
) -> None:
    """Write the rebuilt rows into ``staging``, swap it in, re-register files."""
    by_partition: dict[int, list[lake.Row]] = defaultdict(list)
    for row in lake.sort_rows(rows):
        by_partition[row["partition"]].append(row)
    for partition, part_rows in sorted(by_partition.items()):
        name = lake.file_name(part_rows[0]["stream_id"], partition)
        lake.write_file(staging / name, part_rows)
    root = lake.lake_root()
    LakeFile.objects.filter(topic=topic, date=day).delete()
    lake.swap_day(topic, day, staging)
    for partition, part_rows in sorted(by_partition.items()):
        path = lake.day_dir(topic, day, root) / lake.file_name(
            part_rows[0]["stream_id"], partition
        )
        register_file(topic, day, partition, path, part_rows, root)
        result.files.append(str(path.relative_to(root)))
    result.rows = len(rows)
