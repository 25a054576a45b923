"""One sample of the whole bus, read in a few pipelined round trips (sync).

Called by the per-process sampler (console.sampler) in a worker thread, and
by the beat task that persists history (console.tasks). Read-only: nothing
here writes to Redis. A figure Redis cannot tell is left out (unknown),
never reported as 0 (FIELD-NOTES).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from typing import Any

import redis
from django.db import DatabaseError, connection

from eventbus.client import get_redis
from eventbus.consumer.membership import group_members
from eventbus.deadletters import count_dead_letters
from eventbus.exceptions import BusUnavailable
from eventbus.keys import dead_letter_key, lease_key, stats_key, stream_key
from eventbus.lag import partition_lag
from eventbus.metrics import OUTCOMES
from eventbus.models import ConsumerGroup
from eventbus.streams import GroupState, StreamState, parse_id, text
from eventbus.topics import TopicInfo, list_topics

# How often a sample looks for dead-letter streams of groups it does not know
# (a SCAN of the whole keyspace, which may hold millions of cache keys).
DLQ_RESCAN_SECONDS = 60.0

# Counters of a group's finished events: OUTCOMES minus "failed", which
# counts attempts that will be retried.
FINISHED = tuple(o for o in OUTCOMES if o != "failed")


def read_bus() -> dict[str, Any]:
    """Return raw figures: health, topics, groups, dead letters, workers."""
    started = time.perf_counter()
    reading: dict[str, Any] = {"at": time.time(), "health": {"db": db_health()}}
    try:
        topics = list_topics()
        registered = list(ConsumerGroup.objects.values_list("topic", "name"))
    except DatabaseError:
        topics, registered = [], []  # the db card says why
    try:
        bus = _read_redis(get_redis(), topics, registered)
        reading["health"].update(bus.pop("health"))
        reading.update(bus)
    except (redis.RedisError, BusUnavailable) as exc:
        reading["health"]["redis"] = {
            "ok": False,
            "error": f"Redis is not answering ({exc}). Live figures stop until it "
            "is back; the console keeps retrying.",
        }
    reading["health"]["sample_ms"] = round((time.perf_counter() - started) * 1000, 1)
    return reading


def db_health() -> dict[str, Any]:
    """Time a ``SELECT 1`` on the default database."""
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return {"ok": False, "error": f"The database is not answering ({exc})."}
    elapsed = (time.perf_counter() - started) * 1000
    return {"ok": True, "ms": round(elapsed, 2), "vendor": connection.vendor}


def _read_redis(
    client: redis.Redis, topics: list[TopicInfo], registered: list[tuple[str, str]]
) -> dict[str, Any]:
    pipe = client.pipeline(transaction=False)
    pipe.time()
    for section in ("server", "memory", "persistence"):
        pipe.info(section)
    parts = [(t.name, p) for t in topics for p in t.partition_ids]
    for name, p in parts:
        pipe.xinfo_stream(stream_key(name, p))
        pipe.xinfo_groups(stream_key(name, p))
    replies = pipe.execute(raise_on_error=False)
    _raise_connection_errors(replies)
    seconds, micros = replies[0]
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    streams: dict[tuple[str, int], StreamState] = {}
    states: dict[tuple[str, int], dict[str, GroupState]] = {}
    for n, where in enumerate(parts):
        streams[where] = _stream(replies[4 + 2 * n])
        states[where] = _groups(replies[5 + 2 * n])
    names = {(t, g) for (t, _), by_name in states.items() for g in by_name}
    names |= {pair for pair in registered if pair[0] in {t.name for t in topics}}
    return {
        "now_ms": now_ms,
        "health": {"redis": _redis_health(*replies[1:4])},
        "topics": {t.name: _topic(t, streams) for t in topics},
        "groups": _groups_figures(
            client, now_ms, topics, sorted(names), streams, states
        ),
        "dead_letters": {
            f"{t}/{g}": n
            for (t, g), n in DEAD_LETTER_STREAMS.count(client, names).items()
        },
        "workers": _workers(client, sorted({g for _, g in names})),
    }


class DeadLetterStreams:
    """Count dead letters per sample without a SCAN of the keyspace each time.

    Every sample counts the streams of the groups it knows (those on the
    partitions and the registered ones) directly; a SCAN at most every
    ``DLQ_RESCAN_SECONDS`` finds the rest (letters of a deleted group, or of
    a group made in Redis by hand), which are then counted every sample too.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.others: set[tuple[str, str]] = set()
        self.scanned_at = float("-inf")

    def count(
        self, client: redis.Redis, groups: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], int]:
        """Return the letters held per (topic, group) that has a dead-letter stream."""
        with self.lock:
            if time.monotonic() - self.scanned_at >= DLQ_RESCAN_SECONDS:
                self.others = set(count_dead_letters(client=client))
                self.scanned_at = time.monotonic()
            pairs = sorted(set(groups) | self.others)
        pipe = client.pipeline(transaction=False)
        for topic, group in pairs:
            pipe.exists(dead_letter_key(topic, group))
            pipe.xlen(dead_letter_key(topic, group))
        replies = pipe.execute() if pairs else []
        return {
            pair: int(replies[2 * n + 1])
            for n, pair in enumerate(pairs)
            if replies[2 * n]  # no stream: the group never dead-lettered
        }


DEAD_LETTER_STREAMS = DeadLetterStreams()


def _raise_connection_errors(replies: list[Any]) -> None:
    for reply in replies:
        if isinstance(reply, redis.ConnectionError | redis.TimeoutError):
            raise reply


def _stream(reply: Any) -> StreamState:
    if isinstance(reply, redis.ResponseError):
        if "no such key" in str(reply).lower():
            return StreamState(exists=False)
        raise reply
    first = reply.get("first-entry")
    return StreamState(
        exists=True,
        length=int(reply["length"]),
        first_id=text(first[0]) if first else None,
        last_id=text(reply["last-generated-id"]),
        entries_added=reply.get("entries-added"),
    )


def _groups(reply: Any) -> dict[str, GroupState]:
    if isinstance(reply, redis.ResponseError):
        if "no such key" in str(reply).lower():
            return {}
        raise reply
    found = {}
    for row in reply:
        name = text(row["name"])
        found[name] = GroupState(
            name=name,
            last_delivered_id=text(row["last-delivered-id"]),
            entries_read=row.get("entries-read"),
            lag=row.get("lag"),
            pending=int(row.get("pending", 0)),
            consumers=int(row.get("consumers", 0)),
        )
    return found


def _redis_health(server: dict, memory: dict, persistence: dict) -> dict[str, Any]:
    return {
        "ok": True,
        "version": str(server.get("redis_version", "")),
        "uptime_s": server.get("uptime_in_seconds"),
        "memory": memory.get("used_memory_human"),
        "memory_bytes": memory.get("used_memory"),
        "maxmemory": memory.get("maxmemory_human"),
        "aof_enabled": bool(persistence.get("aof_enabled")),
        "aof_last_write_status": persistence.get("aof_last_write_status"),
        "aof_rewrite_in_progress": bool(persistence.get("aof_rewrite_in_progress")),
    }


def _topic(info: TopicInfo, streams: dict[tuple[str, int], StreamState]) -> dict:
    states = [streams[(info.name, p)] for p in info.partition_ids]
    added = [s.entries_added for s in states if s.exists]
    firsts = [parse_id(s.first_id)[0] for s in states if s.first_id]
    lasts = [parse_id(s.last_id)[0] for s in states if s.last_id and s.length]
    return {
        "partitions": info.partitions,
        "length": sum(s.length for s in states),
        # Unknown if any partition cannot tell (Redis < 7 has no entries-added).
        "added": None if None in added else sum(added),
        "oldest_ms": min(firsts, default=None),
        "newest_ms": max(lasts, default=None),
    }


def _groups_figures(
    client: redis.Redis,
    now_ms: int,
    topics: list[TopicInfo],
    names: list[tuple[str, str]],
    streams: dict[tuple[str, int], StreamState],
    states: dict[tuple[str, int], dict[str, GroupState]],
) -> dict[str, Any]:
    by_name = {t.name: t for t in topics}
    pipe = client.pipeline(transaction=False)
    for topic, group in names:
        for p in by_name[topic].partition_ids:
            key = stream_key(topic, p)
            pipe.get(lease_key(key, group))
            pipe.hgetall(stats_key(key, group))
    replies = iter(pipe.execute())
    figures: dict[str, Any] = {}
    for topic, group in names:
        parts: dict[str, Any] = {}
        totals = dict.fromkeys(OUTCOMES, 0)
        lags = []
        for p in by_name[topic].partition_ids:
            owner, raw_stats = next(replies), next(replies)
            # The worker adds to this hash with its acks (eventbus.metrics), so
            # an absent counter is 0 events, not an unknown.
            counters = {text(field): int(value) for field, value in raw_stats.items()}
            for name in totals:
                totals[name] += counters.get(name, 0)
            lag = partition_lag(
                client,
                topic,
                p,
                group,
                now_ms=now_ms,
                stream=streams[(topic, p)],
                groups=states[(topic, p)],
            )
            lags.append(lag)
            parts[str(p)] = {
                "position": lag.position,
                "undelivered": lag.undelivered,
                "backlog": lag.backlog,
                "pending": lag.pending,
                "time_lag_ms": lag.time_lag_ms,
                "owner": text(owner) if owner else None,
                "note": lag.note or None,
                "processed": counters.get("processed", 0),
                "handled": sum(counters.get(k, 0) for k in FINISHED),
                "last_ms": counters.get("last_ms"),
            }
        backlogs = [lag.backlog for lag in lags]
        undelivered = [lag.undelivered for lag in lags]
        ages = [lag.time_lag_ms for lag in lags]
        figures[f"{topic}/{group}"] = {
            "topic": topic,
            "group": group,
            "backlog": None if None in backlogs else sum(backlogs),
            "undelivered": None if None in undelivered else sum(undelivered),
            "pending": sum(lag.pending for lag in lags),
            "time_lag_ms": None if None in ages else max(ages, default=0),
            "handled": sum(totals[k] for k in FINISHED),
            **totals,
            "partitions": parts,
        }
    return figures


def _workers(client: redis.Redis, groups: list[str]) -> dict[str, Any]:
    workers: dict[str, Any] = {}
    for group in groups:
        members = {}
        for status in group_members(client, group):
            name = str(status.get("member", "?"))
            members[name] = {
                "host": status.get("host"),
                "pid": status.get("pid"),
                "sources": ", ".join(str(s) for s in status.get("sources", [])),
            }
        workers[group] = {"online": len(members), "members": members}
    return workers
