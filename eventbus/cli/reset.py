"""bus reset: move a group's positions; a dry run unless --execute."""

from __future__ import annotations

from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.table import Table

from eventbus.cli import console
from eventbus.resets import ResetPlan, ResetTarget, reset_group, timestamp_target

HELP = (
    "Reset a group's positions (all or --partitions) and show how many events "
    "each partition will re-deliver; nothing changes without --execute."
)
DRY_RUN = "dry run: nothing changed, add --execute to apply"


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("topic")
    parser.add_argument("group")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--to-earliest", action="store_true", help="Re-deliver all.")
    target.add_argument("--to-latest", action="store_true", help="Skip everything.")
    target.add_argument(
        "--to-datetime",
        metavar="ISO",
        help="The first event at or after this time is next "
        "(e.g. 2024-05-01T12:00:00Z; no offset: TIME_ZONE).",
    )
    target.add_argument(
        "--by-duration",
        metavar="DURATION",
        help="As --to-datetime, now minus 15m, 2h, 1d.",
    )
    target.add_argument(
        "--to-id", metavar="ID", help="This event is next (needs one partition)."
    )
    target.add_argument(
        "--shift-by",
        metavar="N",
        type=int,
        help="Negative: re-deliver N more per partition; positive: skip N.",
    )
    target.add_argument("--from-group", metavar="GROUP", help="Copy GROUP's positions.")
    parser.add_argument(
        "--partitions", help="Comma-separated, e.g. 0,2 (default: all)."
    )
    parser.add_argument(
        "--execute",
        action="store_true",
        help="Apply the reset. Stop the group's consumers first: pending entries "
        "of the reset partitions are acknowledged.",
    )
    parser.add_argument("--json", action="store_true", help="Print JSON, not a table.")


def _target(options: dict[str, Any]) -> ResetTarget:
    if options["to_earliest"]:
        return ResetTarget.earliest()
    if options["to_latest"]:
        return ResetTarget.latest()
    if options["to_datetime"]:
        return timestamp_target(options["to_datetime"])
    if options["by_duration"]:
        return ResetTarget.ago(options["by_duration"])
    if options["to_id"]:
        return ResetTarget.to_id(options["to_id"])
    if options["shift_by"] is not None:
        return ResetTarget.shift(options["shift_by"])
    return ResetTarget.from_group(options["from_group"])


def _partitions(raw: str | None) -> list[int] | None:
    if not raw:
        return None
    try:
        return [int(part) for part in raw.split(",") if part.strip()]
    except ValueError:
        raise CommandError(
            f"--partitions {raw!r} is not a list of numbers; use e.g. --partitions 0,2."
        ) from None


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    plan = reset_group(
        options["topic"],
        options["group"],
        _target(options),
        partitions=_partitions(options.get("partitions")),
        dry_run=not options["execute"],
    )
    if options["json"]:
        command.stdout.write(
            orjson.dumps(_as_dict(plan), option=orjson.OPT_INDENT_2).decode()
        )
        return
    title = "applied" if plan.applied else "plan"
    what = f"reset '{plan.group}' on '{plan.topic}' {plan.target.describe()}"
    table = Table(
        "partition",
        "current position",
        "new position",
        "to deliver",
        "backlog now",
        "change",
        "pending cleared" if plan.applied else "pending",
        title=f"{title}: {what}",
    )
    for part in plan.partitions:
        change = part.change
        table.add_row(
            str(part.partition),
            part.current_position or "(missing)",
            part.new_position,
            str(part.to_deliver),
            "unknown" if part.current_backlog is None else str(part.current_backlog),
            "unknown" if change is None else f"{change:+d}",
            str(part.pending),
        )
    console(command, 140).print(table)
    for warning in plan.warnings:
        command.stdout.write(f"warning: {warning}")
    if plan.applied:
        command.stdout.write(
            f"applied: {plan.to_deliver} event(s) will be delivered to '{plan.group}'."
        )
    else:
        command.stdout.write(DRY_RUN)


def _as_dict(plan: ResetPlan) -> dict[str, Any]:
    return {
        "topic": plan.topic,
        "group": plan.group,
        "target": plan.target.describe(),
        "applied": plan.applied,
        "to_deliver": plan.to_deliver,
        "warnings": list(plan.warnings),
        "partitions": [
            {
                "partition": p.partition,
                "current_position": p.current_position,
                "new_position": p.new_position,
                "entries_read": p.entries_read,
                "to_deliver": p.to_deliver,
                "current_backlog": p.current_backlog,
                "change": p.change,
                "pending": p.pending,
            }
            for p in plan.partitions
        ],
    }
