"""bus trim: apply retention now (or preview it) and show what it held back."""

from __future__ import annotations

from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandParser
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from eventbus import cli
from eventbus.retention import TrimReport, trim
from eventbus.topics import get_topic, list_topics

HELP = "Trim topics by their retention; never past unprocessed events (block-trim)."

# Above this many topics a progress bar shows how far the run has got.
PROGRESS_FROM = 5


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("topic", nargs="?", help="Trim only this topic (default: all)")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="Show what would be trimmed; change nothing.",
    )
    parser.add_argument(
        "--json", action="store_true", help="Print JSON instead of a table."
    )


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    topics = [get_topic(options["topic"])] if options["topic"] else list_topics()
    console = cli.console(command, 140)
    reports: list[TrimReport] = []
    if len(topics) > PROGRESS_FROM and not options["json"]:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("trimming", total=len(topics))
            for info in topics:
                reports.append(trim(info, dry_run=options["dry_run"]))
                progress.advance(task)
    else:
        reports = [trim(info, dry_run=options["dry_run"]) for info in topics]
    if options["json"]:
        command.stdout.write(orjson.dumps([_row(r) for r in reports]).decode())
        return
    _table(console, reports, options["dry_run"])


def _row(report: TrimReport) -> dict[str, Any]:
    return {
        "topic": report.topic,
        "policy": report.plan.policy,
        "dry_run": report.dry_run,
        "partitions": [
            {
                "partition": p.partition,
                "length": p.length,
                "cut": p.cut,
                "removes": p.removes,
                "removed": report.removed_by_partition.get(p.partition, 0),
                "held_back": p.held_back,
                "held_by": [
                    {"group": i.group, "events": i.events, "slowest": i.slowest}
                    for i in p.held_by
                ],
                "dropped_unprocessed": p.dropped_unprocessed,
                "dropped_by": [
                    {"group": i.group, "events": i.events} for i in p.dropped_by
                ],
            }
            for p in report.plan.partitions
        ],
    }


def _table(console: Console, reports: list[TrimReport], dry_run: bool) -> None:
    table = Table(
        "topic",
        "p",
        "policy",
        "events",
        "would remove" if dry_run else "removed",
        "held back",
        "blocked by",
        "dropped unprocessed",
        title="Retention (dry run: nothing changed)" if dry_run else "Retention",
    )
    for report in reports:
        for p in report.plan.partitions:
            removed = (
                p.removes
                if dry_run
                else report.removed_by_partition.get(p.partition, 0)
            )
            blocked = ", ".join(
                f"{i.group} ({i.events})" for i in p.held_by if i.slowest
            )
            dropped_by = ", ".join(f"{i.group} ({i.events})" for i in p.dropped_by)
            table.add_row(
                report.topic,
                str(p.partition),
                report.plan.policy,
                str(p.length),
                str(removed),
                f"[yellow]{p.held_back}[/]" if p.held_back else "0",
                blocked or "-",
                f"[red]{p.dropped_unprocessed}[/] {dropped_by}"
                if p.dropped_unprocessed
                else "0",
            )
    console.print(table)
    held = sum(r.plan.held_back for r in reports)
    dropped = sum(r.plan.dropped_unprocessed for r in reports)
    if held:
        groups = sorted({g for r in reports for g in r.plan.blocking_groups})
        console.print(
            f"[yellow]{held} event(s) past retention are kept: retention is "
            f"blocked by group(s) {', '.join(groups)}.[/]"
        )
    if dropped:
        verb = "would drop" if dry_run else "dropped"
        console.print(
            f"[red]drop-oldest {verb} {dropped} event(s) that a group had not "
            "processed yet.[/]"
        )
