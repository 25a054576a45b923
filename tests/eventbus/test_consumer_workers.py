"""Real Celery worker processes hosting a group: split, kill, drain, resume."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from eventbus.keys import lease_key, member_key, stream_key
from eventbus.lag import group_lag
from tests.consumer_app.events import PROBE_TOPIC
from tests.eventbus.consumer_helpers import (
    assert_per_key_order,
    handled,
    publish_probes,
    wait_until,
)
from tests.processes import ROOT, CeleryWorker

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.db_heavy,
]

GROUP = "probe-a"
LEASE_MS = 3000
PARTITIONS = 4
SOURCES = PARTITIONS + 1  # and the redrive stream


@pytest.fixture
def probe(make_topic):
    make_topic(PROBE_TOPIC, partitions=PARTITIONS)


@pytest.fixture
def workers(tmp_path: Path, probe, bus):
    started: list[CeleryWorker] = []

    def start(name: str) -> CeleryWorker:
        worker = CeleryWorker(
            name,
            GROUP,
            tmp_path,
            BUS_LEASE_MS=str(LEASE_MS),
            BUS_HEARTBEAT_SECONDS="0.5",
            BUS_BATCH_SIZE="20",
        ).start()
        started.append(worker)
        worker.wait_joined(bus)
        return worker

    yield start
    for worker in started:
        worker.kill()


def owned(bus, worker: CeleryWorker) -> list[str]:
    """Return the sources a worker reports owning in its member status."""
    member = worker.member(bus)
    raw = bus.get(member_key(GROUP, member)) if member else None
    return orjson.loads(raw)["sources"] if raw else []


def all_owned(bus, alive: list[CeleryWorker]) -> bool:
    seen = [s for w in alive for s in owned(bus, w)]
    return len(seen) == SOURCES and len(set(seen)) == SOURCES


def test_workers_split_partitions_and_keep_key_order_through_join_and_kill(
    workers, bus
):
    a, b = workers("a"), workers("b")
    wait_until(lambda: all_owned(bus, [a, b]) and owned(bus, a) and owned(bus, b))
    publish_probes(240, keys=12, sleep=0.004)
    wait_until(lambda: len(handled(GROUP)) >= 40, what="work under way")

    c = workers("c")  # joins mid-stream: the three split five sources 2/2/1
    wait_until(lambda: all_owned(bus, [a, b, c]) and owned(bus, c), what="rebalance")
    assert sorted(len(owned(bus, w)) for w in (a, b, c)) == [1, 2, 2]

    wait_until(lambda: len(handled(GROUP)) >= 120, what="more work")
    a_sources = owned(bus, a)
    a.kill()  # SIGKILL mid-batch: no shutdown, leases left to expire
    killed = time.monotonic()
    publish_probes(120, keys=12, start=240, sleep=0.002)
    wait_until(lambda: all_owned(bus, [b, c]), timeout=15, what="takeover")
    took_over = time.monotonic() - killed
    # The lease runs out, then the next heartbeat (0.5 s) hands it over.
    assert a_sources and took_over <= LEASE_MS / 1000 + 1.0, took_over

    wait_until(lambda: len(handled(GROUP)) == 360, timeout=60, what="all 360 handled")
    wait_until(lambda: group_lag(PROBE_TOPIC, GROUP).backlog == 0, what="lag 0")
    rows = handled(GROUP)
    assert len({row.event_id for row in rows}) == 360  # nothing lost or doubled
    assert_per_key_order(rows)
    assert {row.pid for row in rows} >= {b.pid, c.pid}


def test_sigterm_drains_releases_leases_and_a_restart_resumes(workers, bus):
    worker = workers("solo")
    wait_until(lambda: all_owned(bus, [worker]))
    publish_probes(100, keys=4, sleep=0.02)
    wait_until(lambda: len(handled(GROUP)) >= 20, what="work under way")

    assert worker.terminate() == 0, worker.tail()
    for p in range(PARTITIONS):
        key = stream_key(PROBE_TOPIC, p)
        assert bus.get(lease_key(key, GROUP)) is None  # released, not left to expire
        assert bus.xpending(key, GROUP)["pending"] == 0  # in-flight batch acked
    done = len(handled(GROUP))
    assert 20 <= done < 100

    workers("again")
    wait_until(lambda: len(handled(GROUP)) == 100, timeout=60, what="resumed")
    rows = handled(GROUP)
    assert len({row.event_id for row in rows}) == 100
    assert_per_key_order(rows)


def test_celery_control_keeps_answering_while_the_group_consumes(workers, bus):
    worker = workers("ctl")
    publish_probes(50, keys=5, sleep=0.01)
    wait_until(lambda: len(handled(GROUP)) >= 5, what="consuming")
    reply = subprocess.run(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "config",
            "inspect",
            "ping",
            "-d",
            f"ctl@{worker_host()}",
            "-t",
            "5",
        ],
        cwd=ROOT,
        env=worker.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert reply.returncode == 0, reply.stdout + reply.stderr
    assert "pong" in reply.stdout


def test_a_killed_redis_connection_is_reopened_by_the_worker(workers, bus):
    worker = workers("reconnect")
    wait_until(lambda: all_owned(bus, [worker]))
    publish_probes(30, keys=3)
    wait_until(lambda: len(handled(GROUP)) == 30)
    for n in range(3):
        bus.client_kill_filter(_type="normal", skipme=True)
        publish_probes(10, keys=3, start=30 + 10 * n)
        time.sleep(0.2)
    wait_until(lambda: len(handled(GROUP)) == 60, timeout=30, what="after kills")
    assert_per_key_order(handled(GROUP))
    assert worker.process.poll() is None


def worker_host() -> str:
    import socket

    return socket.gethostname()
