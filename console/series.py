"""Rates from consecutive samples, and the last hour of each figure in memory."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

BUCKET_SECONDS = 5  # one chart point per 5 s: 720 points make the hour
HISTORY_SECONDS = 3600
RATE_WINDOW = 5.0  # seconds a rate is averaged over: 0.5 s deltas are too jumpy
# Per-partition series only feed sparklines, which draw the last 120 points
# (10 min); an hour of them would multiply the full snapshot by partitions.
PARTITION_HISTORY_SECONDS = 600


class Rates:
    """Per-second rates of ever-growing counters, averaged over a short window."""

    def __init__(self, window: float = RATE_WINDOW) -> None:
        self.window = window
        self._seen: dict[str, deque[tuple[float, int]]] = {}

    def update(self, name: str, at: float, value: int | None) -> float | None:
        """Record ``value`` of counter ``name`` at ``at`` (s); return its rate."""
        if value is None:
            self._seen.pop(name, None)
            return None
        seen = self._seen.setdefault(name, deque())
        if seen and (value < seen[-1][1] or at <= seen[-1][0]):
            # The counter went back (stream re-created, counters deleted) or
            # the clock did: a rate across that point would be nonsense.
            seen.clear()
        seen.append((at, value))
        # Keep the newest point that is at least a window old as the base.
        while len(seen) > 2 and at - seen[1][0] >= self.window:
            seen.popleft()
        if len(seen) < 2:
            return None
        (t0, v0), (t1, v1) = seen[0], seen[-1]
        return (v1 - v0) / (t1 - t0)

    def keep_only(self, names: set[str]) -> None:
        """Forget counters that are gone (a deleted topic or group)."""
        for name in self._seen.keys() - names:
            del self._seen[name]


class History:
    """The last hour of each named series, one value per 5 s bucket."""

    def __init__(
        self,
        bucket: int = BUCKET_SECONDS,
        keep: int = HISTORY_SECONDS,
        keep_by_prefix: dict[str, int] | None = None,
    ) -> None:
        self.bucket = bucket
        self.keep = keep
        # Series whose name starts with one of these prefixes keep less.
        self.keep_by_prefix = dict(keep_by_prefix or {})
        # bucket start (epoch s) -> value; dicts keep insertion (= time) order.
        self._series: dict[str, dict[int, float]] = {}
        # What changed since take_changes(), as a merge patch (None deletes).
        self._changes: dict[str, Any] = {}
        # record/prune run in the sampling thread, as_dict in the event loop.
        self._lock = threading.Lock()

    def bucket_of(self, at: float) -> int:
        """Return the start (epoch seconds) of the bucket holding ``at``."""
        return int(at // self.bucket * self.bucket)

    def record(self, name: str, at: float, value: float | None) -> None:
        """Set the series' value for the bucket of ``at`` (unknown: no point)."""
        if value is None:
            return
        key = self.bucket_of(at)
        value = round(value, 2)
        with self._lock:
            points = self._series.setdefault(name, {})
            if points and key < next(reversed(points)):
                return  # older than what is held (a late seed): keep time order
            if points.get(key) == value:
                return
            points[key] = value
            changes = self._changes.get(name)
            if changes is None:
                changes = self._changes[name] = {}
            changes[str(key)] = value

    def keep_of(self, name: str) -> int:
        """Return how many seconds of series ``name`` are kept."""
        for prefix, seconds in self.keep_by_prefix.items():
            if name.startswith(prefix):
                return seconds
        return self.keep

    def prune(self, now: float) -> None:
        """Drop points older than their series keeps, and series left empty."""
        with self._lock:
            for name in list(self._series):
                cutoff = now - self.keep_of(name)
                points = self._series[name]
                for key in list(points):
                    if key >= cutoff:
                        break
                    del points[key]
                    self._changes.setdefault(name, {})[str(key)] = None
                if not points:
                    del self._series[name]
                    self._changes[name] = None

    def take_changes(self) -> dict[str, Any]:
        """Return the merge patch of the series since the last call, and reset it."""
        with self._lock:
            changes, self._changes = self._changes, {}
        return changes

    def as_dict(self) -> dict[str, dict[str, float]]:
        """Return every series as ``{name: {"<epoch s>": value}}`` (JSON keys)."""
        with self._lock:
            return {
                name: {str(key): value for key, value in points.items()}
                for name, points in self._series.items()
            }

    def __len__(self) -> int:
        return len(self._series)
