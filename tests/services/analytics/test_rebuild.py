"""rebuild_day: a topic's day rewritten from the log, the same as the lake had."""

from __future__ import annotations

import shutil

import pytest
from django.core.management import CommandError, call_command

from eventbus.client import get_redis
from eventbus.keys import stream_key
from services.analytics.actions import event_stage, lake_flush, lake_rebuild_day
from services.analytics.exceptions import InvalidLakeRequest
from services.analytics.lake import day_dir, read_day
from services.analytics.models import LakeFile, StagedEvent
from tests.services.analytics.conftest import log_events, today_of

pytestmark = pytest.mark.django_db


def archive(events) -> None:
    for event in events:
        event_stage(event=event)
    lake_flush(batch_size=3)  # several small files per partition


def test_a_lost_day_is_rebuilt_from_the_log_exactly(publish_orders, lake_dir):
    """Deleting a day and rebuilding it gives the same rows, one file a partition."""
    publish_orders(15)
    events = log_events("orders")
    archive(events)
    day = today_of(events[0])
    before = read_day("orders", day)
    shutil.rmtree(day_dir("orders", day))

    result = lake_rebuild_day(topic="orders", day=day)

    assert result.rows == 15 and result.duplicates == 0
    assert read_day("orders", day).equals(before)
    partitions = {e.position.partition for e in events if e.position}
    assert len(result.files) == len(partitions)
    assert sorted(LakeFile.objects.values_list("path", flat=True)) == sorted(
        result.files
    )
    assert not [p for p in day_dir("orders", day).parent.iterdir() if p.name[0] == "."]


def test_a_flush_after_a_rebuild_skips_what_the_rebuild_archived(
    publish_orders, lake_dir
):
    """Events staged before a rebuild are not archived twice by the next flush."""
    publish_orders(6)
    events = log_events("orders")
    for event in events:
        event_stage(event=event)
    day = today_of(events[0])

    lake_rebuild_day(topic="orders", day=day)
    result = lake_flush()

    assert result.rows == 0 and result.skipped == 6
    assert StagedEvent.objects.count() == 0
    ids = read_day("orders", day).column("id").to_pylist()
    assert sorted(ids) == sorted(e.id for e in events)


def test_rebuilding_a_day_the_log_lost_is_refused_unless_forced(
    publish_orders, lake_dir
):
    """Trimmed events would vanish from the lake: refused, then --force drops them."""
    publish_orders(10)
    events = log_events("orders")
    archive(events)
    day = today_of(events[0])
    gone = events[0].position
    assert gone is not None
    get_redis().xtrim(stream_key("orders", gone.partition), maxlen=0)
    kept = [e for e in events if e.position and e.position.partition != gone.partition]

    with pytest.raises(InvalidLakeRequest, match="--force"):
        lake_rebuild_day(topic="orders", day=day)
    assert read_day("orders", day).num_rows == 10  # untouched

    result = lake_rebuild_day(topic="orders", day=day, force=True)
    assert result.rows == len(kept)
    assert sorted(read_day("orders", day).column("id").to_pylist()) == sorted(
        e.id for e in kept
    )


def test_the_command_rebuilds_a_day_and_reports_it(publish_orders, lake_dir, capsys):
    """manage.py analytics rebuild_day TOPIC DAY writes the day from the log."""
    publish_orders(4)
    events = log_events("orders")
    day = today_of(events[0])

    call_command("analytics", "rebuild_day", "orders", day.isoformat())

    assert "4 rows" in capsys.readouterr().out
    assert read_day("orders", day).num_rows == 4


def test_the_command_explains_a_bad_date_and_an_unknown_topic(topics):
    """Wrong input names what was wrong and how to write it."""
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("analytics", "rebuild_day", "orders", "26/11/2026")
    with pytest.raises(CommandError, match="nosuch"):
        call_command("analytics", "rebuild_day", "nosuch", "2026-01-01")
