"""bus lag: per group and partition, undelivered + pending and time lag."""

from __future__ import annotations

from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.table import Table

from eventbus.cli import console
from eventbus.lag import GroupLag, group_lag, topic_lag
from eventbus.topics import list_topics

HELP = "Show lag per group and partition: position, undelivered, pending, time lag."
UNKNOWN = "unknown"


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("topic", nargs="?", help="Only this topic (default: all).")
    parser.add_argument("--group", help="Only this group (needs TOPIC).")
    parser.add_argument("--json", action="store_true", help="Print JSON, not a table.")


def _lags(options: dict[str, Any]) -> list[GroupLag]:
    topic, group = options.get("topic"), options.get("group")
    if group:
        if not topic:
            raise CommandError("--group needs a TOPIC, e.g. bus lag orders --group g.")
        return [group_lag(topic, group)]
    names = [topic] if topic else [t.name for t in list_topics()]
    return [lag for name in names for lag in topic_lag(name)]


def duration(ms: int | None) -> str:
    """Return ``ms`` for people: 850ms, 12.3s, 4m 05s, 3h 02m, 2d 04h."""
    if ms is None:
        return UNKNOWN
    if ms < 1000:
        return f"{ms}ms"
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m {sec:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours:02d}h"


def _n(value: int | None) -> str:
    return UNKNOWN if value is None else str(value)


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    lags = _lags(options)
    if options["json"]:
        command.stdout.write(
            orjson.dumps(
                [_as_dict(lag) for lag in lags], option=orjson.OPT_INDENT_2
            ).decode()
        )
        return
    if not lags:
        command.stdout.write("No consumer groups.")
        return
    table = Table(
        "topic",
        "group",
        "partition",
        "position",
        "undelivered",
        "pending",
        "backlog",
        "time lag",
    )
    for lag in lags:
        for part in lag.partitions:
            table.add_row(
                lag.topic,
                lag.group,
                str(part.partition),
                part.position or "-",
                _n(part.undelivered),
                str(part.pending),
                _n(part.backlog),
                duration(part.time_lag_ms),
            )
        if len(lag.partitions) > 1:
            table.add_row(
                lag.topic,
                lag.group,
                "all",
                "",
                _n(lag.undelivered),
                str(lag.pending),
                _n(lag.backlog),
                duration(lag.time_lag_ms),
                style="bold",
            )
    console(command, 140).print(table)
    notes = [
        f"{lag.topic}/{lag.group} partition {p.partition}: {p.note}"
        for lag in lags
        for p in lag.partitions
        if p.note
    ]
    for note in notes:
        command.stdout.write(f"unknown: {note}")


def _as_dict(lag: GroupLag) -> dict[str, Any]:
    return {
        "topic": lag.topic,
        "group": lag.group,
        "now_ms": lag.now_ms,
        "undelivered": lag.undelivered,
        "pending": lag.pending,
        "backlog": lag.backlog,
        "time_lag_ms": lag.time_lag_ms,
        "partitions": [
            {
                "partition": p.partition,
                "position": p.position,
                "undelivered": p.undelivered,
                "pending": p.pending,
                "backlog": p.backlog,
                "time_lag_ms": p.time_lag_ms,
                "oldest_unprocessed_id": p.oldest_unprocessed_id,
                "note": p.note or None,
            }
            for p in lag.partitions
        ],
    }
