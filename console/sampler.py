"""One sampler per Daphne process: reads the bus a few times a second, pushes diffs.

However many console tabs are open, the bus is read once per
``CONSOLE["SAMPLE_SECONDS"]`` in a worker thread; each watching socket gets
the whole snapshot once, then RFC 7386 merge patches fanned out in process
(FIELD-NOTES: no channel-layer ``group_send`` per sample). The sampling task
starts with the first watcher and stops with the last.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection

from console.diff import merge_diff, strip_none
from console.series import PARTITION_HISTORY_SECONDS, History, Rates
from console.snapshot import read_bus

logger = logging.getLogger(__name__)

# Readings kept from the last answer while Redis is down: the page shows
# them under the banner instead of going blank.
BUS_PARTS = ("topics", "groups", "dead_letters", "workers")
# A partition's backlog series: "part_backlog/<topic>/<group>/<partition>"
# (names cannot hold "/", so it never collides with a group's series).
PARTITION_BACKLOG = "part_backlog/"


class Watcher(Protocol):
    async def send_json(self, content: Any, close: bool = False) -> None: ...

    def backed_up(self) -> bool:
        """Return whether the socket's transport holds a backlog (slow browser)."""
        ...


def sample_seconds() -> float:
    """Return the sampling period from ``settings.CONSOLE`` (at least 0.1 s)."""
    return max(float(getattr(settings, "CONSOLE", {}).get("SAMPLE_SECONDS", 0.5)), 0.1)


class Collector:
    """Turn readings into snapshots: rates from consecutive samples, history."""

    def __init__(self) -> None:
        self.rates = Rates()
        self.history = History(
            keep_by_prefix={PARTITION_BACKLOG: PARTITION_HISTORY_SECONDS}
        )
        self.seeded = False
        self.last_bus: dict[str, Any] = {}
        self.last_alerts: list[dict[str, Any]] | None = None  # None: never read

    def collect(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Read the bus and firing alerts once; return (snapshot, series changes)."""
        # This thread is not a request: never keep a connection open. (Inside
        # an atomic block, i.e. a test calling this directly, leave it be.)
        own_connection = not connection.in_atomic_block
        if own_connection:
            close_old_connections()
        try:
            if not self.seeded:
                self.seeded = True
                self._seed()
            reading = read_bus()
            reading["alerts"] = self._alerts()
        finally:
            if own_connection:
                connection.close()
        return self.build(reading), self.history.take_changes()

    def _seed(self) -> None:
        from console.history import seed_history

        try:
            seed_history(self.history)
        except Exception:  # a missing table must not stop live figures
            logger.exception("Could not seed the console history from the database.")

    def _alerts(self) -> list[dict[str, Any]] | None:
        from console.alerts import firing_summary

        # One indexed query per sample, whatever the number of sockets.
        try:
            self.last_alerts = firing_summary()
        except DatabaseError:
            # The db banner says why; an outage must not look like every
            # alert resolving, so the last known list stays up.
            logger.debug("Could not read the firing alerts.", exc_info=True)
        return self.last_alerts

    def build(self, reading: dict[str, Any]) -> dict[str, Any]:
        """Return the snapshot for one reading, updating rates and history."""
        at = reading["at"]
        stale = "topics" not in reading
        if stale:
            reading = {**reading, **self.last_bus}
        else:
            self.last_bus = {part: reading[part] for part in BUS_PARTS}
            self._rate(reading, at)
        self.history.prune(at)
        snapshot = {
            "t": int(at * 1000),
            "stale": stale or None,
            "health": reading["health"],
            **{part: reading.get(part, {}) for part in BUS_PARTS},
            "alerts": reading.get("alerts"),
        }
        return strip_none(snapshot)

    def _rate(self, reading: dict[str, Any], at: float) -> None:
        seen = set()
        for name, topic in reading["topics"].items():
            series = f"in/{name}"
            seen.add(series)
            topic["rate_in"] = _round(self.rates.update(series, at, topic["added"]))
            self.history.record(series, at, topic["rate_in"])
        for worker in reading["workers"].values():
            worker["rate"] = 0.0
        for key, group in reading["groups"].items():
            series = f"out/{key}"
            seen.add(series)
            group["rate_out"] = _round(self.rates.update(series, at, group["handled"]))
            self.history.record(series, at, group["rate_out"])
            self.history.record(f"backlog/{key}", at, group["backlog"])
            self.history.record(f"time_lag/{key}", at, group["time_lag_ms"])
            for partition, part in group["partitions"].items():
                name = f"{key}/{partition}"
                seen.add(f"out/{name}")
                part["rate_out"] = _round(
                    self.rates.update(f"out/{name}", at, part["handled"])
                )
                self.history.record(PARTITION_BACKLOG + name, at, part["backlog"])
            worker = reading["workers"].get(group["group"])
            if worker is not None and group["rate_out"] is not None:
                worker["rate"] = round(worker["rate"] + group["rate_out"], 2)
        self.rates.keep_only(seen)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class Sampler:
    """The process's sampler: watchers, the sampling task, and the fan-out."""

    def __init__(self) -> None:
        self.collector = Collector()
        self.watchers: set[Watcher] = set()
        # Watchers that missed a patch while backed up: they get a full
        # snapshot once their socket drains, never a patch they cannot apply.
        self.behind: set[Watcher] = set()
        self.core: dict[str, Any] | None = None  # last snapshot, without series
        self.seq = 0
        self.task: asyncio.Task[None] | None = None
        # One thread: samples never overlap and the DB is used from one place.
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="console-sampler")
        self._lock: asyncio.Lock | None = None

    def _running_here(self) -> bool:
        return (
            self.task is not None
            and not self.task.done()
            and self.task.get_loop() is asyncio.get_running_loop()
        )

    async def watch(self, watcher: Watcher) -> None:
        """Add a socket: it gets the whole snapshot now (or after the first sample)."""
        if not self._running_here():
            # A new event loop (a test, a restarted server): start from scratch.
            self._lock = asyncio.Lock()
            self.core = None
            self.watchers.clear()
            self.behind.clear()
            self.task = asyncio.get_running_loop().create_task(self._run())
        assert self._lock is not None
        async with self._lock:
            self.watchers.add(watcher)
            if self.core is not None:
                await self._send(watcher, self._full())

    async def unwatch(self, watcher: Watcher) -> None:
        """Remove a socket; the last one to leave stops the sampling task."""
        self.watchers.discard(watcher)
        self.behind.discard(watcher)
        if not self.watchers and self.task is not None:
            self.task.cancel()
            self.task = None
            self.core = None

    def _full(self) -> dict[str, Any]:
        assert self.core is not None
        data = {**self.core, "series": self.collector.history.as_dict()}
        return {"kind": "sample", "seq": self.seq, "full": True, "data": data}

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                core, changes = await loop.run_in_executor(
                    self.executor, self.collector.collect
                )
            except Exception:
                # A bug in one sample must not end the live console.
                logger.exception("The console sampler failed; retrying.")
            else:
                await self._publish(core, changes)
            await asyncio.sleep(max(sample_seconds() - (loop.time() - started), 0.05))

    async def _publish(self, core: dict[str, Any], changes: dict[str, Any]) -> None:
        assert self._lock is not None
        async with self._lock:
            first = self.core is None
            patch = {} if first else merge_diff(self.core or {}, core)
            if changes:
                patch["series"] = changes
            self.core = core
            self.seq += 1
            if first:
                message = self._full()
            elif patch:
                message = {"kind": "sample", "seq": self.seq, "full": False}
                message["data"] = patch
            else:
                message = None
            for watcher in list(self.watchers):
                if watcher.backed_up():
                    self.behind.add(watcher)
                elif watcher in self.behind:
                    self.behind.discard(watcher)
                    await self._send(watcher, self._full())
                elif message is not None:
                    await self._send(watcher, message)

    async def _send(self, watcher: Watcher, message: dict[str, Any]) -> None:
        try:
            await watcher.send_json(message)
        except Exception:  # a socket that went away: forget it
            logger.debug("Dropped a console watcher whose send failed.", exc_info=True)
            self.watchers.discard(watcher)


SAMPLER = Sampler()
