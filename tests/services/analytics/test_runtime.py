"""The analytics group under the real consumer runtime, and a reset replay."""

from __future__ import annotations

import pytest

from eventbus.client import get_redis
from eventbus.resets import ResetTarget, reset_group
from eventbus.streams import group_states
from services.analytics.actions import lake_flush
from services.analytics.lake import read_day
from services.analytics.models import StagedEvent
from tests.eventbus.consumer_helpers import running, wait_until
from tests.services.analytics.conftest import log_events, today_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db_heavy]


def test_the_group_archives_every_event_once_even_after_a_reset(
    publish_orders, lake_dir
):
    """Events reach the lake once; resetting the group to the start adds nothing."""
    publish_orders(12)
    events = log_events("orders")
    with running("analytics"):
        wait_until(lambda: StagedEvent.objects.count() == 12, what="12 staged")
    lake_flush()
    day = today_of(events[0])
    before = read_day("orders", day)
    assert sorted(before.column("id").to_pylist()) == sorted(e.id for e in events)

    reset_group("orders", "analytics", ResetTarget.earliest(), dry_run=False)
    publish_orders(1, start=12)  # a new event: the only one to stage
    with running("analytics"):
        wait_until(drained, what="the replay to be delivered and acked")
    assert StagedEvent.objects.count() == 1
    lake_flush()

    after = read_day("orders", day).column("id").to_pylist()
    assert len(after) == len(set(after)) == 13


def drained() -> bool:
    """Every orders partition has been delivered and acked by analytics."""
    client = get_redis()
    for p in range(4):
        state = group_states(client, "orders", p).get("analytics")
        if state is None or state.lag != 0 or state.pending != 0:
            return False
    return True
