"""The lake: staging exactly once, Parquet files in batches, replays add nothing."""

from __future__ import annotations

import json
from datetime import UTC

import orjson
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from eventbus import publish
from eventbus.envelope import Event, Position
from services.analytics.actions import event_stage, lake_flush
from services.analytics.exceptions import InvalidLakeRequest
from services.analytics.lake import SCHEMA, read_day
from services.analytics.models import LakeCursor, LakeFile, StagedEvent
from tests.services.analytics.conftest import (
    SHIPMENT_CREATED,
    log_events,
    today_of,
)

pytestmark = pytest.mark.django_db


def stage_all(events: list[Event]) -> int:
    return sum(event_stage(event=event) for event in events)


def test_the_same_event_staged_twice_is_one_row(publish_orders):
    """A re-delivered event is staged once (unique by event id)."""
    publish_orders(1)
    [event] = log_events("orders")
    assert event_stage(event=event) is True
    assert event_stage(event=event) is False
    assert StagedEvent.objects.count() == 1


def test_an_event_without_a_log_position_is_refused(publish_orders):
    """Only events read from the log can be staged: they need a position."""
    publish_orders(1)
    [event] = log_events("orders")
    with pytest.raises(InvalidLakeRequest, match="no log position"):
        event_stage(event=event._replace(position=None))
    assert StagedEvent.objects.count() == 0


def test_flush_writes_staged_events_to_parquet_by_topic_day_and_partition(
    publish_orders, lake_dir
):
    """One file per topic, day and partition, named by its first stream id."""
    publish_orders(20)
    publish("shipments", "shipment.created", SHIPMENT_CREATED, key="o1")
    events = log_events("orders") + log_events("shipments")
    assert stage_all(events) == 21

    result = lake_flush()

    assert result.rows == 21 and result.skipped == 0
    assert StagedEvent.objects.count() == 0
    day = today_of(events[0]).isoformat()
    expected = set()
    for event in events:
        assert event.position is not None
        topic, partition, _ = event.position
        first = min(
            (e.position for e in events if e.position[:2] == (topic, partition)),
            key=lambda pos: tuple(map(int, pos.stream_id.split("-"))),
        )
        expected.add(
            f"topic={topic}/date={day}/part-{first.stream_id}-{partition}.parquet"
        )
    written = {str(p.relative_to(lake_dir)) for p in lake_dir.rglob("*.parquet")}
    assert written == expected == set(result.files)
    assert set(LakeFile.objects.values_list("path", flat=True)) == expected
    assert sum(LakeFile.objects.values_list("rows", flat=True)) == 21
    # Each partition's cursor is at its last stream id.
    for cursor in LakeCursor.objects.all():
        last = max(
            (
                e.position
                for e in events
                if e.position[:2] == (cursor.topic, cursor.partition)
            ),
            key=lambda pos: tuple(map(int, pos.stream_id.split("-"))),
        )
        assert cursor.last_id == last.stream_id


def test_lake_files_read_back_with_pyarrow_as_the_events(publish_orders, lake_dir):
    """Columns and types as documented; data is the event's JSON; time is UTC."""
    publish_orders(5)
    events = log_events("orders")
    stage_all(events)
    lake_flush()

    table = read_day("orders", today_of(events[0]))
    assert table.schema == SCHEMA
    assert table.schema.field("time").type == pa.timestamp("us", tz="UTC")
    rows = table.to_pylist()
    assert [r["id"] for r in rows] == [e.id for e in events]
    for row, event in zip(rows, events, strict=True):
        assert event.position is not None
        assert json.loads(row["data"]) == event.data
        assert row["type"] == "order.placed"
        assert row["partitionkey"] == event.partitionkey
        assert row["partition"] == event.position.partition
        assert row["stream_id"] == event.position.stream_id
        assert row["dataschema"] == event.dataschema
        assert row["time"].tzinfo is not None
        assert row["time"].astimezone(UTC).isoformat().replace("+00:00", "Z") == (
            event.time
        )
    # Hive partitioning: a dataset over the whole lake sees topic and date.
    dataset = ds.dataset(lake_dir, format="parquet", partitioning="hive")
    whole = dataset.to_table()
    assert whole.num_rows == 5
    assert set(whole.column("topic").to_pylist()) == {"orders"}


def test_pandas_reads_the_lake_when_installed(publish_orders, lake_dir):
    """pandas.read_parquet reads a day's file (skipped where pandas is absent)."""
    pd = pytest.importorskip("pandas")
    publish_orders(3)
    stage_all(log_events("orders"))
    lake_flush()
    frame = pd.concat(pd.read_parquet(p) for p in lake_dir.rglob("*.parquet"))
    assert len(frame) == 3


def test_a_replay_after_a_flush_adds_nothing(publish_orders, lake_dir):
    """Re-staging archived events (a group reset) is skipped by the cursors."""
    publish_orders(10)
    events = log_events("orders")
    stage_all(events)
    lake_flush()
    before = read_day("orders", today_of(events[0]))

    assert stage_all(events) == 0
    result = lake_flush()

    assert result.rows == 0 and result.files == []
    assert read_day("orders", today_of(events[0])).equals(before)


def test_flush_writes_in_batches_and_a_later_batch_adds_new_files(
    publish_orders, lake_dir
):
    """Small batches give more files; the day holds every event exactly once."""
    publish_orders(12)
    stage_all(log_events("orders"))
    first = lake_flush(batch_size=5)
    publish_orders(6, start=12)
    stage_all(log_events("orders"))  # the first 12 are skipped, 6 new staged
    second = lake_flush()

    assert first.rows == 12 and second.rows == 6
    events = log_events("orders")
    ids = read_day("orders", today_of(events[0])).column("id").to_pylist()
    assert sorted(ids) == sorted(e.id for e in events)
    assert len(ids) == len(set(ids)) == 18


def test_an_event_id_the_log_holds_twice_is_archived_once(publish_orders, lake_dir):
    """A re-sent event (same id, new stream id) is dropped: its id is archived."""
    publish_orders(1)
    [event] = log_events("orders")
    event_stage(event=event)
    lake_flush()
    assert event.position is not None
    ms, seq = map(int, event.position.stream_id.split("-"))
    resent = event._replace(
        position=Position("orders", event.position.partition, f"{ms}-{seq + 1}")
    )

    assert event_stage(event=resent) is True  # past the cursor: staged
    result = lake_flush()

    assert result.rows == 0 and result.skipped == 1
    assert read_day("orders", today_of(event)).num_rows == 1
    assert StagedEvent.objects.count() == 0


def test_a_file_left_by_a_crash_before_commit_is_not_duplicated(
    publish_orders, lake_dir, monkeypatch
):
    """Rows staged after their file was written are dropped, the file registered."""
    publish_orders(4)
    events = log_events("orders")
    stage_all(events)
    from services.analytics import actions

    def crash(*args, **kwargs):
        raise RuntimeError("crash after the file was written")

    monkeypatch.setattr(actions, "register_orphans", crash)
    with pytest.raises(RuntimeError):
        lake_flush()
    monkeypatch.undo()
    assert StagedEvent.objects.count() == 4  # rolled back
    assert len(list(lake_dir.rglob("*.parquet"))) >= 1

    result = lake_flush()

    assert result.rows == 0 and result.skipped == 4
    table = read_day("orders", today_of(events[0]))
    assert sorted(table.column("id").to_pylist()) == sorted(e.id for e in events)
    assert LakeFile.objects.count() == len(list(lake_dir.rglob("*.parquet")))


def test_lake_files_are_plain_parquet_with_json_data(publish_orders, lake_dir):
    """Any Parquet reader sees the columns; data parses as JSON."""
    publish_orders(2)
    stage_all(log_events("orders"))
    lake_flush()
    path = next(lake_dir.rglob("*.parquet"))
    table = pq.read_table(path)
    assert table.column_names == list(SCHEMA.names)
    assert all(orjson.loads(d) for d in table.column("data").to_pylist())
