"""bus publish: publish an event whose data comes from an argument or stdin."""

from __future__ import annotations

import sys
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from eventbus.producer import Outgoing, publish, publish_many

HELP = "Publish one event (DATA as JSON, or '-' / omitted to read stdin)."


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("topic")
    parser.add_argument("type", help="Event type, e.g. order.placed")
    parser.add_argument(
        "data", nargs="?", default="-", help="JSON data, or '-' for stdin"
    )
    parser.add_argument(
        "--key", help="Partition key (same key, same partition, in order)"
    )
    parser.add_argument("--subject")
    parser.add_argument("--version", type=int, help="Schema version (default: latest)")
    parser.add_argument(
        "--lines",
        action="store_true",
        help="Read one JSON document per line and publish them as one batch",
    )


def _parse(text: str, where: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise CommandError(
            f"{where} is not valid JSON ({exc}). Pass the event data as a JSON "
            """document, e.g. '{"order_id": "o-1"}'."""
        ) from exc


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    raw = sys.stdin.read() if options["data"] == "-" else options["data"]
    common = {
        "topic": options["topic"],
        "type": options["type"],
        "key": options["key"],
        "subject": options["subject"],
        "version": options["version"],
    }
    if options["lines"]:
        lines = [line for line in raw.splitlines() if line.strip()]
        batch = [
            Outgoing(data=_parse(line, f"line {n}"), **common)
            for n, line in enumerate(lines, 1)
        ]
        results = publish_many(batch)
    else:
        results = [publish(data=_parse(raw, "DATA"), **common)]
    for result in results:
        command.stdout.write(
            orjson.dumps(
                {"id": result.event_id, "position": result.position.as_dict()}
            ).decode()
        )
