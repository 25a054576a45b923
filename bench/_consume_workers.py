"""Phase 3 and the worker processes: our runtime in Celery against plain Celery.

Ours: ``celery -A config worker --bus-group bench-worker --concurrency 1``
(the bootstep's consumer thread in the worker's main process) drains the
pre-published topic; timed from the rewind of its idle group until the
group has nothing undelivered or pending. Plain Celery: ``celery -A
bench.celery_plain worker --concurrency 1`` (prefork, one child) runs one
no-op task per event, sent with ``.delay()``; timed from the first send
until the counter that every task increments reaches the number sent.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import _consume_common as common
from bench._consume_common import ROOT, kick, rewind, stream_total, wait_drained

CELERY_OPTIONS = [
    "--concurrency",
    "1",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
    "-l",
    "warning",
]


class Worker:
    """A Celery worker process started by the benchmark (and only stopped by it)."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path):
        celery = shutil.which("celery", path=str(Path(sys.executable).parent))
        if not celery:
            raise RuntimeError(
                "celery is not installed next to this Python; run `make setup`."
            )
        self.name = name
        self.log = logs / f"{name}.log"
        with self.log.open("wb") as log:  # this run's log only
            self.process = subprocess.Popen(
                [celery, *args, "-n", f"{name}@%h", *CELERY_OPTIONS],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def alive(self) -> bool:
        return self.process.poll() is None

    def check(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"Worker {self.name} exited:\n{self.tail()}")

    def stop(self) -> None:
        """Warm shutdown (SIGTERM); SIGKILL if it takes more than 30 s."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def bus_worker(group: str, env: dict[str, str], logs: Path) -> Worker:
    """Start ``celery -A config worker --bus-group <group>``."""
    return Worker(group, ["-A", "config", "worker", "--bus-group", group], env, logs)


def wait_owning(client: Any, worker: Worker, group: str, sources: int) -> None:
    """Wait until the worker owns every source of ``group``."""
    try:
        common.wait_owning(client, group, sources, alive=worker.alive)
    except RuntimeError as exc:
        raise RuntimeError(
            f"{exc}\n{worker.name}'s log ends:\n{worker.tail()}"
        ) from exc


def drain_worker(
    client: Any, worker: Worker, topic: str, group: str, data: dict[str, Any]
) -> tuple[float, int]:
    """Return (events/s, events) for the worker's drain of the rewound group."""
    total = stream_total(client, topic) + 1  # and the kick
    started = time.perf_counter()
    rewind(client, topic, group)
    kick(topic, data)
    # A 5 ms poll from this process; at least a second per drain keeps its
    # error under 1 %.
    finished = wait_drained(client, topic, group, timeout=600, poll=0.005)
    worker.check()
    return total / (finished - started), total


def plain_worker(env: dict[str, str], logs: Path) -> Worker:
    """Start the plain-Celery worker on the same broker."""
    return Worker("bench-plain", ["-A", "bench.celery_plain", "worker"], env, logs)


def drain_celery(
    client: Any, worker: Worker, payloads: list[dict[str, Any]]
) -> tuple[float, int]:
    """Return (tasks/s, tasks) for one task per payload through Celery's broker."""
    from bench.celery_plain import COUNTER, noop

    client.delete(COUNTER)
    started = time.perf_counter()
    for data in payloads:
        noop.delay(data)
    deadline = time.monotonic() + 600
    while int(client.get(COUNTER) or 0) < len(payloads):
        if time.monotonic() > deadline:
            worker.check()
            raise RuntimeError(f"Plain Celery did not finish:\n{worker.tail()}")
        time.sleep(0.005)
    return len(payloads) / (time.perf_counter() - started), len(payloads)
