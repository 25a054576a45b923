"""Consumer groups: every group's lag, and one group's partitions in detail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from console.access import viewer_required
from console.forms_groups import MODES
from eventbus import (
    count_dead_letters,
    get_topic,
    group_lag,
    list_groups,
    list_topics,
    partition_owners,
    range_progress,
    source_stats,
    topic_lag,
)
from eventbus.exceptions import BusUnavailable, UnknownGroup, UnknownTopic


def fmt_ms(ms: int | None) -> str:
    """Return a duration for people: 850ms, 12s, 4m 10s, 3h 2m; unknown as '?'."""
    if ms is None:
        return "?"
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms // 1000
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m"
    return f"{hours // 24}d {hours % 24}h"


def fmt_when(ms: int | None) -> str:
    """Return epoch ms as a UTC time, or '' when there is none."""
    if not ms:
        return ""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _unknown(value: int | None) -> str:
    # Unknown lag is shown as unknown, never 0 (DESIGN.md, Lag).
    return "?" if value is None else str(value)


def _topic_rows(topic: str, dead: dict[tuple[str, str], int]) -> list[dict[str, Any]]:
    infos = {g.name: g for g in list_groups(topic)}
    rows = []
    for lag in topic_lag(topic):
        info = infos.get(lag.group)
        rows.append(
            {
                "topic": topic,
                "group": lag.group,
                "undelivered": _unknown(lag.undelivered),
                "pending": lag.pending,
                "backlog": _unknown(lag.backlog),
                "time_lag": fmt_ms(lag.time_lag_ms),
                "consumers": info.consumers if info else 0,
                "missing": info.missing_partitions if info else [],
                "dead": dead.get((topic, lag.group), 0),
            }
        )
    return rows


@viewer_required
def groups(request: HttpRequest) -> HttpResponse:
    """List every consumer group of every topic with its lag and dead letters."""
    sections = []
    problem = None
    try:
        dead = count_dead_letters()
        for topic in list_topics():
            sections.append({"topic": topic, "rows": _topic_rows(topic.name, dead)})
    except BusUnavailable as exc:
        # The rest of the page (nav, banner) still renders; only figures are gone.
        problem = str(exc)
    context = {"page": "groups", "sections": sections, "problem": problem}
    return render(request, "console/groups.html", context)


def partition_rows(topic: str, group: str) -> tuple[Any, list[dict[str, Any]]]:
    """Return the group's lag and one row per partition (+ its redrive stream)."""
    lag = group_lag(topic, group)
    owners = partition_owners(topic, group)
    stats = {s.partition: s for s in source_stats(topic, group)}
    rows = []
    for part in lag.partitions:
        counters = stats.get(part.partition)
        rows.append(
            {
                "partition": part.partition,
                "position": part.position or "?",
                "undelivered": _unknown(part.undelivered),
                "pending": part.pending,
                "backlog": _unknown(part.backlog),
                "time_lag": fmt_ms(part.time_lag_ms),
                "oldest": part.oldest_unprocessed_id or "",
                "owner": owners.get(part.partition),
                "processed": counters.processed if counters else 0,
                "beyond_end": counters.beyond_end if counters else 0,
                "dead": counters.dead if counters else 0,
                "last_batch": fmt_when(counters.last_ms if counters else None),
                "note": part.note,
            }
        )
    redrive = stats.get(-1)
    rows.append(
        {
            "partition": "redrive",
            "redrive": True,
            "owner": owners.get(-1),
            "processed": redrive.processed if redrive else 0,
            "dead": redrive.dead if redrive else 0,
            "last_batch": fmt_when(redrive.last_ms if redrive else None),
        }
    )
    return lag, rows


def replay_range(topic: str, group: str, rows: list[dict[str, Any]]) -> Any:
    """Return the group's end bound and, per partition, how much is left before it."""
    progress = range_progress(topic, group)
    if progress is None:
        return None
    beyond = {row["partition"]: row.get("beyond_end", 0) for row in rows}
    start = progress.start or ""
    return {
        "start": fmt_when(int(start)) if start.isdigit() else start,
        "end": fmt_when(progress.until_ms) or f"{progress.until_ms} ms",
        "until_ms": progress.until_ms,
        "remaining": _unknown(progress.remaining),
        "done": progress.done,
        "partitions": [
            {
                "partition": part.partition,
                "end_id": part.end_id,
                "remaining": _unknown(part.remaining),
                "beyond_end": beyond.get(part.partition, 0),
                "done": part.done,
            }
            for part in progress.partitions
        ],
    }


def group_context(topic: str, group: str) -> dict[str, Any]:
    """Return what the group page shows (also used to re-render its forms)."""
    try:
        info = get_topic(topic)
        lag, rows = partition_rows(topic, group)
    except (UnknownTopic, UnknownGroup) as exc:
        raise Http404(str(exc)) from exc
    on_topic = list_groups(topic)
    others = [g.name for g in on_topic if g.name != group]
    meta = next((g for g in on_topic if g.name == group), None)
    return {
        "page": "group",
        "topic": info,
        "group": group,
        "meta": meta,
        "lag": lag,
        "total_backlog": _unknown(lag.backlog),
        "total_time_lag": fmt_ms(lag.time_lag_ms),
        "rows": rows,
        "dead": count_dead_letters(topic, group).get((topic, group), 0),
        "modes": MODES,
        "other_groups": others,
        "partition_ids": list(info.partition_ids),
        "replay": replay_range(topic, group, rows),
    }


@viewer_required
def group(request: HttpRequest, topic: str, group: str) -> HttpResponse:
    """Show one group per partition: position, lag, owner, counters, reset form."""
    return render(request, "console/group.html", group_context(topic, group))
