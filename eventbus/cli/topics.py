"""bus topics: list topics with partitions, length and retention."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from rich.table import Table

from eventbus.cli import console
from eventbus.client import get_redis, redis_errors
from eventbus.streams import stream_state
from eventbus.topics import list_topics

HELP = "List topics with their partitions, length and retention."


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="Print JSON instead of a table."
    )


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    client = get_redis()
    rows: list[dict[str, Any]] = []
    with redis_errors("list topics"):
        for topic in list_topics():
            length = sum(
                stream_state(client, topic.name, p).length for p in topic.partition_ids
            )
            rows.append(
                {
                    "name": topic.name,
                    "partitions": topic.partitions,
                    "length": length,
                    "retention_ms": topic.retention_ms,
                    "retention_max_len": topic.retention_max_len,
                    "overflow_policy": topic.overflow_policy,
                    "owner": topic.owner,
                }
            )
    if options["json"]:
        import orjson

        command.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(
        "topic", "partitions", "events", "max age (ms)", "max len", "overflow", "owner"
    )
    for row in rows:
        table.add_row(
            str(row["name"]),
            str(row["partitions"]),
            str(row["length"]),
            str(row["retention_ms"] or "-"),
            str(row["retention_max_len"] or "-"),
            str(row["overflow_policy"]),
            str(row["owner"] or "-"),
        )
    console(command, 120).print(table)
