"""bus groups: list consumer groups, or create / delete one."""

from __future__ import annotations

from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandParser
from rich.table import Table

from eventbus.cli import console
from eventbus.groups import GroupInfo, create_group, delete_group, list_groups

HELP = (
    "List consumer groups (--topic T), or 'create TOPIC GROUP' / 'delete TOPIC GROUP'."
)


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("--topic", help="Only the groups of this topic.")
    parser.add_argument("--json", action="store_true", help="Print JSON, not a table.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    create = actions.add_parser("create", help="Create a group on every partition.")
    create.add_argument("topic_name", metavar="TOPIC")
    create.add_argument("group")
    create.add_argument(
        "--start",
        "--from",
        dest="start",
        default="latest",
        help="earliest, latest (default), an ISO 8601 time such as "
        "2024-05-01T12:00:00Z (no offset: TIME_ZONE) or ms since the epoch.",
    )
    create.add_argument(
        "--until",
        default=None,
        help="End of a replay range (exclusive), as an ISO 8601 time or ms: the "
        "group's workers ack events from then on without handling them.",
    )
    delete = actions.add_parser("delete", help="Delete a group and its positions.")
    delete.add_argument("topic_name", metavar="TOPIC")
    delete.add_argument("group")


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    action = options.get("action")
    if action == "create":
        info = create_group(
            options["topic_name"],
            options["group"],
            start=options["start"],
            until=options.get("until"),
        )
        positions = ", ".join(f"{p.partition}:{p.position}" for p in info.partitions)
        until = f" until {info.until_ms}" if info.until_ms is not None else ""
        command.stdout.write(
            f"Created group '{info.name}' on '{info.topic}' at {info.start}{until} "
            f"(positions {positions})."
        )
        if info.until_ms is not None:
            command.stdout.write(
                "Run it with: celery -A config worker --bus-group "
                f"{info.name}=<group whose handlers to run>"
            )
        return
    if action == "delete":
        delete_group(options["topic_name"], options["group"])
        command.stdout.write(
            f"Deleted group '{options['group']}' from '{options['topic_name']}'."
        )
        return
    groups = list_groups(options.get("topic"))
    if options["json"]:
        rows = [_as_dict(info) for info in groups]
        command.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not groups:
        command.stdout.write("No consumer groups.")
        return
    table = Table(
        "topic", "group", "start", "until", "partitions", "pending", "consumers", "row"
    )
    for info in groups:
        present = len(info.partitions) - len(info.missing_partitions)
        missing = (
            f" (missing {info.missing_partitions})" if info.missing_partitions else ""
        )
        table.add_row(
            info.topic,
            info.name,
            info.start or "-",
            "-" if info.until_ms is None else str(info.until_ms),
            f"{present}/{len(info.partitions)}{missing}",
            str(info.pending),
            str(info.consumers),
            "yes" if info.registered else "no (Redis only)",
        )
    console(command, 120).print(table)


def _as_dict(info: GroupInfo) -> dict[str, Any]:
    return {
        "topic": info.topic,
        "group": info.name,
        "registered": info.registered,
        "start": info.start,
        "until_ms": info.until_ms,
        "created_at": info.created_at.isoformat() if info.created_at else None,
        "partitions": [
            {
                "partition": p.partition,
                "exists": p.exists,
                "position": p.position,
                "entries_read": p.entries_read,
                "lag": p.lag,
                "pending": p.pending,
                "consumers": p.consumers,
                "recorded": p.recorded,
            }
            for p in info.partitions
        ],
    }
