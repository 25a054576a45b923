"""bus dlq: list, show, redrive and purge a group's dead letters; count them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandParser
from rich.table import Table
from rich.text import Text

from eventbus.cli import console
from eventbus.deadletters import (
    DeadLetter,
    count_dead_letters,
    get_dead_letter,
    list_dead_letters,
    purge,
    redrive,
)

HELP = (
    "Dead letters of a consumer group: list, show, redrive (back to that group "
    "only), purge; counts of every group."
)
MESSAGE_WIDTH = 60


def add_arguments(parser: CommandParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="List dead letters, newest first.")
    _target(listing)
    _filters(listing)
    listing.add_argument("--limit", type=int, default=50, help="Page size (50).")
    listing.add_argument("--cursor", help="Continue after the page that printed it.")
    listing.add_argument(
        "--oldest-first", action="store_true", help="Oldest letters first."
    )
    _json(listing)
    show = actions.add_parser("show", help="Show one letter: event and traceback.")
    _target(show)
    show.add_argument("dlq_id", metavar="DLQ_ID")
    _json(show)
    again = actions.add_parser(
        "redrive", help="Send letters back to the group (no other group sees them)."
    )
    _target(again)
    _selection(again)
    again.add_argument(
        "--dry-run", action="store_true", help="Only count; change nothing."
    )
    drop = actions.add_parser("purge", help="Delete letters for good.")
    _target(drop)
    _selection(drop)
    drop.add_argument(
        "--yes",
        action="store_true",
        help="Really delete (irreversible); without it only the count is shown.",
    )
    counts = actions.add_parser("counts", help="Dead letters per topic and group.")
    counts.add_argument("--topic", help="Only this topic.")
    counts.add_argument("--group", help="Only this group.")
    _json(counts)


def _target(parser: CommandParser) -> None:
    parser.add_argument("topic", metavar="TOPIC")
    parser.add_argument("group", metavar="GROUP")


def _filters(parser: CommandParser) -> None:
    parser.add_argument(
        "--type",
        dest="types",
        action="append",
        metavar="PATTERN",
        help="Event type pattern, e.g. 'order.*' (repeatable).",
    )
    parser.add_argument(
        "--error-type", help="Error class, bare or qualified ('Boom', 'myapp.*')."
    )
    parser.add_argument(
        "--text", help="Text in the error message or the event (any case)."
    )


def _selection(parser: CommandParser) -> None:
    parser.add_argument(
        "--id",
        dest="ids",
        action="append",
        metavar="DLQ_ID",
        help="A letter's id (repeatable).",
    )
    _filters(parser)
    parser.add_argument("--all", action="store_true", help="Every letter.")


def _json(parser: CommandParser) -> None:
    parser.add_argument("--json", action="store_true", help="Print JSON.")


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    {
        "list": _list,
        "show": _show,
        "redrive": _redrive,
        "purge": _purge,
        "counts": _counts,
    }[options["action"]](command, options)


def _where(options: dict[str, Any]) -> str:
    return f"group '{options['group']}' on topic '{options['topic']}'"


def _chosen(options: dict[str, Any]) -> dict[str, Any]:
    return {
        "ids": options.get("ids"),
        "types": options.get("types"),
        "error_type": options.get("error_type"),
        "text": options.get("text"),
        "all": options.get("all", False),
    }


def _list(command: BaseCommand, options: dict[str, Any]) -> None:
    page = list_dead_letters(
        options["topic"],
        options["group"],
        types=options["types"],
        error_type=options["error_type"],
        text=options["text"],
        limit=options["limit"],
        cursor=options["cursor"],
        reverse=not options["oldest_first"],
    )
    if options["json"]:
        body = {"items": [_as_dict(x) for x in page.items], "next": page.next_cursor}
        command.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode())
        return
    if not page.items:
        filtered = options["types"] or options["error_type"] or options["text"]
        which = " match the filters" if filtered else ""
        command.stdout.write(f"No dead letters{which} for {_where(options)}.")
    else:
        table = Table(title=f"Dead letters of {_where(options)}")
        for name in ("dlq id", "type", "error type", "message"):
            # Fold, not ellipsis: a cut class or id name is a wrong name.
            table.add_column(name, overflow="fold")
        for name in ("attempts", "original", "dead at (UTC)"):
            table.add_column(name, overflow="fold")
        for letter in page.items:
            # Text cells: messages and types are data, never rich markup.
            table.add_row(
                Text(letter.dlq_id or ""),
                Text(letter.event_type or "(not an envelope)"),
                Text(letter.error_type),
                Text(_short(letter.error_message)),
                Text(str(letter.attempts)),
                Text(f"{_partition(letter)}/{letter.stream_id}"),
                Text(_time(letter.dead_at_ms)[:19]),
            )
        console(command, 180).print(table)
    if page.next_cursor:
        command.stdout.write(f"More: add --cursor {page.next_cursor}")


def _show(command: BaseCommand, options: dict[str, Any]) -> None:
    letter = get_dead_letter(options["topic"], options["group"], options["dlq_id"])
    row = _as_dict(letter)
    if options["json"]:
        command.stdout.write(orjson.dumps(row, option=orjson.OPT_INDENT_2).decode())
        return
    out = command.stdout
    out.write(f"Dead letter {letter.dlq_id} of {_where(options)}")
    out.write(f"  original:  partition {_partition(letter)}, id {letter.stream_id}")
    out.write(f"  error:     {letter.error_type}: {letter.error_message}")
    out.write(f"  attempts:  {letter.attempts}")
    out.write(f"  failed:    {_time(letter.first_failure_ms)} (first)")
    out.write(f"             {_time(letter.last_failure_ms)} (last)")
    out.write(f"  dead at:   {_time(letter.dead_at_ms)}")
    out.write("Event:")
    if row["event"] is not None:
        out.write(orjson.dumps(row["event"], option=orjson.OPT_INDENT_2).decode())
    else:
        out.write(f"(not a decodable envelope; raw bytes) {letter.wire!r}")
    out.write("Traceback:")
    out.write(letter.traceback)


def _redrive(command: BaseCommand, options: dict[str, Any]) -> None:
    chosen = _chosen(options)
    dry_run = options["dry_run"]
    moved = redrive(options["topic"], options["group"], dry_run=dry_run, **chosen)
    if dry_run:
        command.stdout.write(
            f"Would redrive {moved} dead letter(s) of {_where(options)} "
            "(dry run: nothing changed)."
        )
    else:
        command.stdout.write(
            f"Redrove {moved} dead letter(s) to {_where(options)}; no other "
            "group receives them."
        )
    _missing(command, chosen, moved)


def _purge(command: BaseCommand, options: dict[str, Any]) -> None:
    chosen = _chosen(options)
    topic, group = options["topic"], options["group"]
    if not options["yes"]:
        found = purge(topic, group, dry_run=True, **chosen)
        command.stdout.write(
            f"Would purge {found} dead letter(s) of {_where(options)}. Purging is "
            "irreversible: run again with --yes to delete them."
        )
        return
    removed = purge(topic, group, **chosen)
    command.stdout.write(f"Purged {removed} dead letter(s) of {_where(options)}.")
    _missing(command, chosen, removed)


def _missing(command: BaseCommand, chosen: dict[str, Any], done: int) -> None:
    asked = len(set(chosen["ids"] or ()))
    if asked > done:
        command.stdout.write(
            f"{asked - done} of the given id(s) are not in the dead-letter "
            "stream (already redriven or purged?)."
        )


def _counts(command: BaseCommand, options: dict[str, Any]) -> None:
    counts = count_dead_letters(options["topic"], options["group"])
    rows: list[dict[str, Any]] = [
        {"topic": t, "group": g, "count": n} for (t, g), n in counts.items()
    ]
    if options["json"]:
        command.stdout.write(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        command.stdout.write("No dead-letter streams.")
        return
    table = Table("topic", "group", "dead letters")
    for row in rows:
        table.add_row(Text(row["topic"]), Text(row["group"]), Text(str(row["count"])))
    console(command, 100).print(table)


def _as_dict(letter: DeadLetter) -> dict[str, Any]:
    try:
        event: dict[str, Any] | None = letter.event.to_dict()
    except Exception:
        event = None
    return {
        "dlq_id": letter.dlq_id,
        "topic": letter.topic,
        "group": letter.group,
        "partition": letter.partition,
        "stream_id": letter.stream_id,
        "event": event,
        # The raw bytes only when they are not an envelope (for diagnosis).
        "wire": None if event is not None else letter.wire.decode("utf-8", "replace"),
        "error_type": letter.error_type,
        "error_message": letter.error_message,
        "traceback": letter.traceback,
        "attempts": letter.attempts,
        "first_failure_ms": letter.first_failure_ms,
        "last_failure_ms": letter.last_failure_ms,
        "dead_at_ms": letter.dead_at_ms,
    }


def _partition(letter: DeadLetter) -> str:
    return "-" if letter.partition is None else str(letter.partition)


def _short(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else ""
    return line if len(line) <= MESSAGE_WIDTH else line[: MESSAGE_WIDTH - 1] + "…"


def _time(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{ms % 1000:03d}Z"
