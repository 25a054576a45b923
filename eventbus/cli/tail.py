"""bus tail: follow a topic live, one JSON line per event, with filters."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from eventbus.reading import Bound, tail

HELP = "Follow a topic live (or replay from a point), one JSON line per event."


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("topic")
    parser.add_argument(
        "--type",
        dest="types",
        action="append",
        metavar="PATTERN",
        help="Only event types matching this pattern, e.g. 'order.*' (repeatable)",
    )
    parser.add_argument("--key", help="Only events with this partition key")
    parser.add_argument("--subject", help="Only events with this subject")
    parser.add_argument(
        "--from",
        dest="start",
        default="latest",
        help="latest (default), earliest, ISO time (UTC if no zone), ms or stream id",
    )
    parser.add_argument("--limit", type=int, help="Stop after this many events")
    parser.add_argument(
        "--timeout", type=float, help="Stop after this many seconds without an event"
    )


def parse_start(text: str) -> Bound:
    """Return the tail start for --from: a keyword, ms, stream id or ISO time."""
    if text in ("latest", "earliest"):
        return text
    if text.isdigit():
        return int(text)
    if text.replace("-", "").isdigit() and text.count("-") == 1:
        return text  # a stream id such as 1700000000000-0
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(
            f"--from {text!r} is not understood. Use latest, earliest, an ISO "
            "time such as 2024-05-01T12:00:00Z, ms since the epoch or a stream id."
        ) from exc


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    limit, timeout = options["limit"], options["timeout"]
    stop = threading.Event()
    seen = [time.monotonic()]
    if timeout is not None:
        # Idle watchdog: the tail wakes every block_ms and sees ``stop``.
        def watch() -> None:
            while not stop.wait(0.05):
                if time.monotonic() - seen[0] > timeout:
                    stop.set()

        threading.Thread(target=watch, daemon=True, name="tail-timeout").start()
    block_ms = 1000 if timeout is None else max(10, min(1000, int(timeout * 250)))
    events = tail(
        options["topic"],
        start=parse_start(options["start"]),
        types=options["types"],
        key=options["key"],
        subject=options["subject"],
        block_ms=block_ms,
        stop=stop,
    )
    count = 0
    try:
        for event in events:
            seen[0] = time.monotonic()
            line = event.to_dict()
            line["position"] = event.position.as_dict() if event.position else None
            command.stdout.write(orjson.dumps(line).decode())
            command.stdout.flush()
            count += 1
            if limit is not None and count >= limit:
                break
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        events.close()
