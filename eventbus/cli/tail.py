"""bus tail: follow a topic live, one JSON line per event, with filters."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser

from eventbus.exceptions import FeedError
from eventbus.reading import Bound, tail
from eventbus.remote import FeedClient, Start, normalize_start
from eventbus.streams import is_number, split_id

HELP = "Follow a topic live (or replay from a point), one JSON line per event."
TOKEN_ENV = "SWITCHYARD_TOKEN"
# Reconnects in a row before a remote tail gives up (backoff 0.5 s .. 30 s: ~2 min).
REMOTE_ATTEMPTS = 8


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("topic", nargs="?")
    parser.add_argument(
        "--topic",
        dest="topics",
        action="append",
        default=[],
        metavar="TOPIC",
        help="Another topic to follow (repeatable; several only with --remote)",
    )
    parser.add_argument(
        "--remote",
        metavar="URL",
        help="Read from a Switchyard feed (ws(s)://HOST/ws/v1/events) instead of "
        "Redis; prints the positions to resume from on exit",
    )
    parser.add_argument(
        "--token",
        help=f"API token for --remote (default: ${TOKEN_ENV}, which keeps "
        "it out of shell history)",
    )
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
        help="latest (default), earliest, ISO time (UTC if no zone), ms, a stream "
        "id, or (with --remote) the positions JSON printed by an earlier tail",
    )
    parser.add_argument("--limit", type=int, help="Stop after this many events")
    parser.add_argument(
        "--timeout", type=float, help="Stop after this many seconds without an event"
    )


def parse_start(text: str) -> Bound:
    """Return the tail start for --from: a keyword, ms, stream id or ISO time."""
    if text in ("latest", "earliest"):
        return text
    if is_number(text):
        return int(text)
    if split_id(text, seq_required=True) is not None:
        return text  # a stream id such as 1700000000000-0
    try:
        return datetime.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(
            f"--from {text!r} is not understood. Use latest, earliest, an ISO "
            "time such as 2024-05-01T12:00:00Z, ms since the epoch or a stream id."
        ) from exc


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    topics = [t for t in (options["topic"], *options["topics"]) if t]
    if not topics:
        raise CommandError("Name a topic: bus tail TOPIC (or --topic TOPIC).")
    if options["remote"]:
        handle_remote(command, options, topics)
        return
    if len(topics) > 1:
        raise CommandError(
            "A local tail follows one topic; follow several with --remote."
        )
    if options["start"].startswith("{"):
        raise CommandError(
            "Positions JSON works with --remote; locally pass a stream id or time."
        )
    options["topic"] = topics[0]
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


# --- --remote: the same lines, read from a feed ------------------------------


def parse_remote_start(text: str) -> Start:
    """Return the feed's start for --from: a keyword, ms, ISO time or positions."""
    if text.startswith("{"):
        try:
            positions = orjson.loads(text)
            return normalize_start(positions)
        except (orjson.JSONDecodeError, FeedError) as exc:
            raise CommandError(
                f"--from {text!r} is not positions JSON such as "
                '{"orders": {"0": "1700000000000-0"}} (as an earlier tail printed).'
            ) from exc
    start = parse_start(text)
    if isinstance(start, str) and start not in ("latest", "earliest"):
        raise CommandError(
            "A bare stream id does not say which topic and partition it is in; "
            "with --remote pass positions JSON, a time or ms instead."
        )
    if isinstance(start, datetime) and start.tzinfo is None:
        return start.replace(tzinfo=UTC)
    assert start is not None
    return start


def handle_remote(
    command: BaseCommand, options: dict[str, Any], topics: list[str]
) -> None:
    token = options["token"] or os.environ.get(TOKEN_ENV, "")
    if not token:
        raise CommandError(
            f"--remote needs an API token: set {TOKEN_ENV} (keeps it out of shell "
            "history) or pass --token."
        )
    try:
        feed = FeedClient(
            options["remote"],
            token,
            topics,
            types=options["types"],
            key=options["key"],
            subject=options["subject"],
            start=parse_remote_start(options["start"]),
            max_attempts=REMOTE_ATTEMPTS,
        )
    except FeedError as exc:
        raise CommandError(str(exc)) from exc
    try:
        asyncio.run(_print_remote(command, feed, options["limit"], options["timeout"]))
    except KeyboardInterrupt:
        pass
    except FeedError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        if feed.positions:
            resume = {
                topic: {str(p): offset for p, offset in sorted(parts.items())}
                for topic, parts in feed.positions.items()
            }
            command.stderr.write(
                f"Resume with: --from '{orjson.dumps(resume).decode()}'",
                style_func=lambda text: text,
            )


async def _print_remote(
    command: BaseCommand, feed: FeedClient, limit: int | None, timeout: float | None
) -> None:
    count = 0
    try:
        while limit is None or count < limit:
            try:
                async with asyncio.timeout(timeout):
                    item = await anext(feed)
            except (StopAsyncIteration, TimeoutError):
                return
            line = item.to_event().to_dict()
            line["position"] = {
                "topic": item.topic,
                "partition": item.partition,
                "id": item.offset,
            }
            command.stdout.write(orjson.dumps(line).decode())
            command.stdout.flush()
            count += 1
    finally:
        await feed.close()
