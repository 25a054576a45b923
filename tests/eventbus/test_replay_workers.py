"""Real Celery workers running a service's handlers under a replay group."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from eventbus import create_group, list_groups, range_progress
from eventbus.keys import members_key, stats_key, stream_key
from eventbus.lag import group_lag
from eventbus.models import ProcessedEvent
from eventbus.streams import server_ms
from tests.consumer_app.events import PROBE_TOPIC
from tests.eventbus.consumer_helpers import handled, publish_probes, wait_until
from tests.processes import CeleryWorker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.db_heavy,
]

PARTITIONS = 4
REPLAY = "probe-replay"
HANDLERS = "probe-a"  # its handler writes Handled rows with group "probe-a"


class ReplayWorker(CeleryWorker):
    """A worker started with ``--bus-group NEW=HANDLERS``; it joins group NEW."""

    def member(self, client: redis.Redis) -> str | None:
        group = self.group.partition("=")[0]
        for raw in client.zrange(members_key(group), 0, -1):
            if f"-{self.pid}-" in raw.decode():
                return str(raw.decode())
        return None


@pytest.fixture
def probe(make_topic):
    make_topic(PROBE_TOPIC, partitions=PARTITIONS)


@pytest.fixture
def start_worker(tmp_path: Path, probe, bus):
    started: list[CeleryWorker] = []

    def start(spec: str) -> ReplayWorker:
        worker = ReplayWorker(
            spec.replace("=", "-as-"),
            spec,
            tmp_path,
            BUS_LEASE_MS="3000",
            BUS_HEARTBEAT_SECONDS="0.5",
            BUS_BATCH_SIZE="7",
        ).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.kill()


def stats(bus, group: str, field: str) -> int:
    return sum(
        int(bus.hget(stats_key(stream_key(PROBE_TOPIC, p), group), field) or 0)
        for p in range(PARTITIONS)
    )


def tick(bus) -> int:
    time.sleep(0.01)
    now = server_ms(bus)
    time.sleep(0.01)
    return now


def test_a_worker_replays_a_range_with_another_groups_handlers(start_worker, bus):
    """celery --bus-group NEW=HANDLERS handles [start, until) once under NEW,
    acks everything after (also what is published later) and leaves the
    handlers' own group untouched."""
    create_group(PROBE_TOPIC, HANDLERS, start="latest")
    before = {g.name: g.partitions for g in list_groups(PROBE_TOPIC)}[HANDLERS]
    publish_probes(20, keys=8, start=0)
    start = tick(bus)
    publish_probes(60, keys=12, start=100)
    until = tick(bus)
    publish_probes(30, keys=8, start=200)
    create_group(PROBE_TOPIC, REPLAY, start=start, until=until)

    worker = start_worker(f"{REPLAY}={HANDLERS}")
    worker.wait_joined(bus)
    wait_until(lambda: stats(bus, REPLAY, "beyond_end") == 30, timeout=60, what="end")
    wait_until(lambda: group_lag(PROBE_TOPIC, REPLAY).backlog == 0, what="lag 0")
    publish_probes(12, keys=12, start=300)  # after the replay
    wait_until(lambda: stats(bus, REPLAY, "beyond_end") == 42, what="later acked")
    assert group_lag(PROBE_TOPIC, REPLAY).backlog == 0

    rows = handled(HANDLERS)
    assert sorted(row.seq for row in rows) == list(range(100, 160))
    assert {row.pid for row in rows} == {worker.pid}
    assert stats(bus, REPLAY, "processed") == 60
    assert ProcessedEvent.objects.filter(group=REPLAY).count() == 60
    assert not ProcessedEvent.objects.filter(group=HANDLERS).exists()
    progress = range_progress(PROBE_TOPIC, REPLAY)
    assert progress is not None and progress.done
    # probe-a itself: same positions, nothing pending, no counters.
    after = {g.name: g.partitions for g in list_groups(PROBE_TOPIC)}[HANDLERS]
    assert [p.position for p in after] == [p.position for p in before]
    assert sum(p.pending for p in after) == 0
    assert stats(bus, HANDLERS, "processed") == 0
    assert worker.terminate() == 0, worker.tail()


def test_a_worker_for_handlers_nobody_declared_stops_at_startup(start_worker, bus):
    """An unknown HANDLERS group ends the worker with the reason in its log."""
    worker = start_worker(f"{REPLAY}=nobody")
    assert worker.process is not None
    code = worker.process.wait(60)
    assert code != 0
    log = worker.log.read_text(errors="replace")
    assert "No handlers subscribe for group 'nobody'" in log
    assert bus.zcard(members_key(REPLAY)) == 0
