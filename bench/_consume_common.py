"""Plumbing shared by the consumer benchmark's phases and its child processes."""

from __future__ import annotations

import gc
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = "bench.settings"
KICK_KEY = "kick"  # partition key of the event that wakes a blocked consumer


def bench_env(
    redis_url: str, database_url: str, worker_batch_size: int
) -> dict[str, str]:
    """Return the environment every process of the benchmark runs with."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": redis_url,
        # The raw baselines do not wait for fsync either.
        "BUS_DURABILITY": "everysec",
        "BUS_BATCH_SIZE": str(worker_batch_size),  # in-process drains pass theirs
        "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
        ),
    }


def setup_django(env: dict[str, str], topics: dict[str, int]) -> None:
    """Set up Django from ``env``, migrate, and create the topic rows."""
    os.environ.update(env)
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    from eventbus.models import Topic

    call_command("migrate", verbosity=0)
    for name, partitions in topics.items():
        Topic.objects.get_or_create(name=name, defaults={"partitions": partitions})


def partitions_of(topic: str) -> range:
    from eventbus.topics import get_topic

    return get_topic(topic).partition_ids


def stream_total(client: Any, topic: str) -> int:
    """Return how many entries the topic's partitions hold."""
    from eventbus.keys import stream_key

    pipe = client.pipeline(transaction=False)
    for p in partitions_of(topic):
        pipe.xlen(stream_key(topic, p))
    return sum(pipe.execute())


def rewind(client: Any, topic: str, group: str) -> None:
    """Move ``group`` back to the start of every partition (lag stays known)."""
    from eventbus.keys import stream_key

    pipe = client.pipeline(transaction=False)
    for p in partitions_of(topic):
        pipe.xgroup_setid(stream_key(topic, p), group, "0", entries_read=0)
    pipe.execute()


def kick(topic: str, data: dict[str, Any]) -> None:
    """Publish one event: XGROUP SETID does not wake a consumer blocked in XREADGROUP.

    The woken consumer then reads the group's whole backlog on that
    partition, and the other partitions on its next read.
    """
    from eventbus import publish
    from eventbus.schemas import event_types

    kind = next(t.type for t in event_types() if t.topic == topic)
    publish(topic, kind, data, key=KICK_KEY)


def backlog(client: Any, topic: str, group: str) -> int | None:
    """Return undelivered + pending entries of ``group`` (None: unknown yet)."""
    from eventbus.keys import stream_key

    pipe = client.pipeline(transaction=False)
    for p in partitions_of(topic):
        pipe.xinfo_groups(stream_key(topic, p))
    total = 0
    for rows in pipe.execute():
        row = next((r for r in rows if _text(r["name"]) == group), None)
        if row is None or row.get("lag") is None:
            return None
        total += int(row["lag"]) + int(row["pending"])
    return total


def wait_drained(
    client: Any, topic: str, group: str, *, timeout: float, poll: float
) -> float:
    """Return the perf_counter time at which ``group`` had nothing left to do."""
    deadline = time.monotonic() + timeout
    while backlog(client, topic, group) != 0:
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"Group {group!r} still had {backlog(client, topic, group)} entries "
                f"to process on {topic!r} after {timeout:.0f}s; see the worker "
                "logs under the benchmark's temporary directory."
            )
        time.sleep(poll)
    return time.perf_counter()


class GcPauses:
    """Add up the time the cyclic garbage collector stops this process."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.full = 0  # generation-2 collections
        self._started = 0.0

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        self.full += info["generation"] == 2

    @contextmanager
    def counting(self) -> Iterator[GcPauses]:
        self.seconds, self.full = 0.0, 0
        gc.callbacks.append(self._callback)
        try:
            yield self
        finally:
            gc.callbacks.remove(self._callback)


def machine() -> dict[str, object]:
    """Describe the machine and the versions that the figures depend on."""
    import celery
    import hiredis
    import redis

    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        model = platform.processor()
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "os": platform.platform(terse=True),
        "python": platform.python_version(),
        "redis_py": redis.__version__,
        "hiredis": hiredis.__version__,
        "celery": celery.__version__,
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def wait_owning(
    client: Any, group: str, sources: int, alive: Callable[[], bool]
) -> None:
    """Wait until the members of ``group`` report owning all its ``sources``.

    Then a little longer, so the consumer is in its blocking read, as an idle
    one is when events arrive.
    """
    import orjson

    from eventbus.keys import member_key, members_key

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and alive():
        owned = 0
        for member in client.zrange(members_key(group), 0, -1):
            raw = client.get(member_key(group, member.decode()))
            owned += len(orjson.loads(raw)["sources"]) if raw else 0
        if owned == sources:
            time.sleep(0.5)
            return
        time.sleep(0.05)
    raise RuntimeError(
        f"The consumer of {group!r} did not take its {sources} sources (alive: "
        f"{alive()}); run with BENCH_LOG_LEVEL=INFO to see why."
    )


def percentile(ordered: list[float], q: float) -> float:
    """Return the nearest-rank percentile ``q`` (0-100) of sorted values."""
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100)
    return ordered[int(rank) - 1]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def create_database(url: str) -> bool:
    """Create the (PostgreSQL) database of ``url`` afresh; False if unreachable."""
    import psycopg

    name, admin = _admin_url(url)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        return False
    return True


def drop_database(url: str) -> None:
    """Drop the database that ``create_database`` made."""
    import psycopg

    name, admin = _admin_url(url)
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_url(url: str) -> tuple[str, str]:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    # The run drops this database: refuse names that could be someone's data.
    if "bench" not in name or '"' in name:
        raise ValueError(
            f"--pg-url {url!r} names database {name!r}; the benchmark creates and "
            "drops it, so its name must contain 'bench' (e.g. .../switchyard_bench)."
        )
    return name, urlunsplit(parts._replace(path="/postgres"))
