"""Events whose handler kills the worker end in the dead-letter stream."""

from __future__ import annotations

from pathlib import Path

import pytest

from eventbus import Outgoing, publish_many
from eventbus.consumer.batch import died_too_often
from eventbus.deadletters import DeadLetter, list_dead_letters
from eventbus.groups import create_group
from eventbus.keys import stats_key, stream_key
from eventbus.lag import group_lag
from tests.consumer_app.events import PROBE_HAPPENED, PROBE_TOPIC
from tests.consumer_app.handlers import FAST_RETRY
from tests.eventbus.consumer_helpers import (
    assert_per_key_order,
    handled,
    publish_probes,
    running,
    wait_until,
)
from tests.processes import CeleryWorker

pytestmark = [pytest.mark.django_db(transaction=True)]

GROUP = "probe-a"  # FAST_RETRY: three attempts
KEY = stream_key(PROBE_TOPIC, 0)
# The bound: deliveries never acked beyond the retry budget plus one.
DEATHS = FAST_RETRY.max_attempts + 2


@pytest.fixture
def probe(make_topic):
    make_topic(PROBE_TOPIC, partitions=1)


def publish_with_poison(before: int, after: int, **poison: object) -> list[str]:
    """Publish ``before`` probes, one marked with ``poison``, then ``after`` more."""
    total = before + 1 + after
    return [
        r.event_id
        for r in publish_many(
            Outgoing(
                PROBE_TOPIC,
                PROBE_HAPPENED,
                {"seq": n, **(poison if n == before else {})},
                key="k0",
            )
            for n in range(total)
        )
    ]


def delivered_to_a_ghost(bus, deliveries: list[int]) -> list[str]:
    """Deliver the first entries to a consumer that then vanished, n times each."""
    ids = [sid.decode() for sid, _ in bus.xrange(KEY, count=len(deliveries))]
    bus.xreadgroup(GROUP, "ghost", {KEY: ">"}, count=len(deliveries))
    for sid, times in zip(ids, deliveries, strict=True):
        bus.xclaim(KEY, GROUP, "ghost", 0, [sid], retrycount=times)
    pending = bus.xpending_range(KEY, GROUP, "-", "+", 100)
    assert [row["times_delivered"] for row in pending] == deliveries
    return ids


def stat(bus, field: str) -> int:
    return int(bus.hget(stats_key(KEY, GROUP), field) or 0)


def test_the_bound_is_one_delivery_more_than_the_retry_budget():
    """An entry delivered attempts + 1 times is delivered again; one more is not."""
    assert not died_too_often(FAST_RETRY.max_attempts + 1, FAST_RETRY)
    assert died_too_often(FAST_RETRY.max_attempts + 2, FAST_RETRY)


def test_a_pending_event_delivered_beyond_the_bound_is_dead_lettered_on_takeover(
    probe, bus
):
    """The killer is dead-lettered unhandled; the entries around it are handled."""
    create_group(PROBE_TOPIC, GROUP, start="earliest")
    ids = publish_with_poison(3, 2, fail=99)  # would only fail if it ran
    # seq 0-2 once (a crash), the poison beyond the bound, seq 4 twice; 5 new.
    delivered_to_a_ghost(bus, [1, 1, 1, DEATHS, 2])
    with running(GROUP):
        wait_until(lambda: len(handled(GROUP)) == 5, what="the others handled")
        wait_until(lambda: group_lag(PROBE_TOPIC, GROUP).backlog == 0, what="lag 0")
    assert [row.seq for row in handled(GROUP)] == [0, 1, 2, 4, 5]
    (letter,) = list_dead_letters(PROBE_TOPIC, GROUP).items
    assert_died(letter, ids[3], DEATHS)
    assert stat(bus, "dead") == 1 and stat(bus, "failed") == 0


def test_a_pending_event_at_the_bound_is_delivered_again(probe, bus):
    """Under the bound nothing changes: the event runs, fails and retries as usual."""
    create_group(PROBE_TOPIC, GROUP, start="earliest")
    publish_with_poison(1, 1, fail=1)  # fails once, then passes
    delivered_to_a_ghost(bus, [1, DEATHS - 1, 2])
    with running(GROUP):
        wait_until(lambda: len(handled(GROUP)) == 3, what="all handled")
    assert [row.seq for row in handled(GROUP)] == [0, 1, 2]
    assert list_dead_letters(PROBE_TOPIC, GROUP).items == []
    assert stat(bus, "failed") == 1 and stat(bus, "dead") == 0


@pytest.mark.slow
def test_an_event_that_kills_every_worker_ends_dead_lettered_and_the_partition_flows(
    probe, bus, tmp_path: Path
):
    """Workers restarted after each death stop dying once the bound is reached."""
    ids = publish_with_poison(10, 10, die=True)
    workers: list[CeleryWorker] = []
    deaths = 0
    try:
        for n in range(DEATHS + 2):  # bounded: the letter comes after DEATHS
            worker = CeleryWorker(
                f"crash{n}",
                GROUP,
                tmp_path,
                BUS_LEASE_MS="1500",
                BUS_HEARTBEAT_SECONDS="0.3",
                BUS_BATCH_SIZE="20",
            ).start()
            workers.append(worker)
            process = worker.process
            assert process is not None
            wait_until(
                lambda p=process: p.poll() is not None or bool(dead_letters()),
                timeout=60,
                what=f"worker {n} to die or dead-letter the poison",
            )
            if process.poll() is None:
                break
            assert process.returncode == 1, worker.tail()
            deaths += 1
        assert deaths == DEATHS, workers[-1].tail()
        (letter,) = dead_letters()
        assert_died(letter, ids[10], DEATHS)

        publish_probes(5, keys=1, start=21)  # the partition keeps flowing
        wait_until(lambda: len(handled(GROUP)) == 25, timeout=60, what="25 handled")
        wait_until(lambda: group_lag(PROBE_TOPIC, GROUP).backlog == 0, what="lag 0")
        rows = handled(GROUP)
        assert sorted(row.seq for row in rows) == [n for n in range(26) if n != 10]
        assert_per_key_order(rows)  # each handled exactly once, in order
        assert {row.pid for row in rows} <= {w.pid for w in workers}
        assert stat(bus, "dead") == 1
        assert workers[-1].process and workers[-1].process.poll() is None
    finally:
        for worker in workers:
            worker.kill()


def dead_letters() -> list[DeadLetter]:
    return list_dead_letters(PROBE_TOPIC, GROUP).items


def assert_died(letter: DeadLetter, event_id: str, deaths: int) -> None:
    assert letter.error_type.rsplit(".", 1)[-1] == "WorkerDied"
    assert f"died {deaths} times" in letter.error_message
    assert letter.attempts == deaths
    assert letter.traceback == ""
    assert letter.event.id == event_id
    assert letter.partition == 0
