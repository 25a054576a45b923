"""Strict durability: acknowledged events survive SIGKILL; unsafe servers refused."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
import redis

from eventbus import publish, publish_many, register_event_type
from eventbus.client import server_version
from eventbus.durability import forget_checks
from eventbus.envelope import FIELD
from eventbus.exceptions import DurabilityError
from eventbus.keys import stream_key

CHILD = Path(__file__).with_name("durability_child.py")
ACKS_BEFORE_KILL = 300

pytestmark = pytest.mark.slow


@pytest.fixture
def strict(settings) -> Iterator[None]:
    """Strict durability for in-process publishes; server checks forgotten around."""
    settings.BUS = {**settings.BUS, "DURABILITY": "strict"}
    forget_checks()
    yield
    forget_checks()


@pytest.fixture
def durable_topic(make_topic) -> str:
    make_topic("durable", partitions=2)
    register_event_type(
        "durable.written",
        topic="durable",
        schema={
            "type": "object",
            "required": ["n"],
            "properties": {"n": {"type": "integer"}},
        },
    )
    return "durable"


def stored_ids(client: redis.Redis, topic: str, partitions: int) -> dict[str, str]:
    """Return {stream id: event id} of every entry in the topic's streams."""
    found: dict[str, str] = {}
    for p in range(partitions):
        for sid, fields in client.xrange(stream_key(topic, p)):
            found[f"{p}:{sid.decode()}"] = orjson.loads(fields[FIELD])["id"]
    return found


def test_acknowledged_events_survive_sigkill_of_redis(
    redis_server, tmp_path: Path
) -> None:
    """Every event whose strict publish returned is in the log after a SIGKILL."""
    server = redis_server("--appendonly", "yes", "--appendfsync", "always")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "BUS_DURABILITY": "strict",
        "TEST_REDIS_URL": server.url,
        "REDIS_URL": server.url,
        "DATABASE_URL": "sqlite://:memory:",
        "PYTHONUNBUFFERED": "1",
    }
    stderr_path = tmp_path / "child.stderr"
    acked: list[tuple[str, str, str]] = []
    with stderr_path.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(CHILD)],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            text=True,
        )
        try:
            assert child.stdout is not None
            killed = False
            # readline, not communicate(): every line printed before EOF counts.
            for line in iter(child.stdout.readline, ""):
                word, event_id, partition, stream_id = line.split()
                assert word == "ack", line
                acked.append((event_id, partition, stream_id))
                if len(acked) == ACKS_BEFORE_KILL and not killed:
                    server.kill()  # mid-publish: the child is in its loop
                    killed = True
            code = child.wait(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
    errors = stderr_path.read_text()
    assert killed, f"the child stopped after {len(acked)} acks: {errors}"
    assert code == 3, (
        f"the child should fail once Redis is gone (exit {code}): {errors}"
    )

    server.start()  # same port and directory: Redis replays its AOF
    stored = stored_ids(redis.Redis(port=server.port), "durable", 3)
    missing = [ack for ack in acked if stored.get(f"{ack[1]}:{ack[2]}") != ack[0]]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged events lost"
    assert len(acked) >= ACKS_BEFORE_KILL


def test_strict_refuses_everysec_without_waitaof(
    redis_server, bus_on, strict, durable_topic
) -> None:
    """Strict mode refuses Redis < 7.2 with appendfsync everysec; nothing is written."""
    server = redis_server("--appendonly", "yes", "--appendfsync", "everysec")
    client = redis.Redis(port=server.port)
    if server_version(client) >= (7, 2):
        pytest.skip("Redis >= 7.2 has WAITAOF: strict mode waits for the fsync there")
    bus_on(server.url)
    with pytest.raises(DurabilityError, match="appendfsync always"):
        publish(durable_topic, "durable.written", {"n": 1})
    assert stored_ids(client, durable_topic, 2) == {}


def test_strict_refuses_a_server_with_aof_off(
    redis_server, bus_on, strict, durable_topic
) -> None:
    """Strict mode refuses a Redis with AOF off and writes nothing."""
    server = redis_server("--appendonly", "no")
    bus_on(server.url)
    with pytest.raises(DurabilityError, match="AOF off"):
        publish_many(
            [{"topic": durable_topic, "type": "durable.written", "data": {"n": 1}}]
        )
    assert stored_ids(redis.Redis(port=server.port), durable_topic, 2) == {}


def test_strict_batch_lands_with_appendfsync_always(
    redis_server, bus_on, strict, durable_topic
) -> None:
    """With appendfsync always, a strict batch is written whole, reported in order."""
    server = redis_server("--appendonly", "yes", "--appendfsync", "always")
    bus_on(server.url)
    events = [
        {
            "topic": durable_topic,
            "type": "durable.written",
            "data": {"n": n},
            "key": f"k{n}",
        }
        for n in range(20)
    ]
    published = publish_many(events)
    stored = stored_ids(redis.Redis(port=server.port), durable_topic, 2)
    assert len(stored) == 20
    for item in published:
        key = f"{item.position.partition}:{item.position.stream_id}"
        assert stored[key] == item.event_id


def wait_for(check: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_strict_publish_returns_after_the_replica_has_the_event(
    redis_server, bus_on, strict, durable_topic
) -> None:
    """With a replica connected, a strict publish returns once the replica holds it."""
    primary = redis_server("--appendonly", "yes", "--appendfsync", "always")
    replica = redis_server("--replicaof", "127.0.0.1", str(primary.port))
    primary_client = redis.Redis(port=primary.port)
    replica_client = redis.Redis(port=replica.port)

    def in_sync() -> bool:
        link = replica_client.info("replication").get("master_link_status")
        replicas = primary_client.info("replication").get("connected_slaves", 0)
        return link == "up" and int(replicas) == 1

    wait_for(in_sync, "the replica to connect")
    bus_on(primary.url)
    for n in range(20):
        item = publish(durable_topic, "durable.written", {"n": n})
        key = stream_key(durable_topic, item.position.partition)
        sid = item.position.stream_id
        # Read at once, no retry: WAIT returned only after the replica acked it.
        assert replica_client.xrange(key, sid, sid), f"event #{n} not on the replica"
