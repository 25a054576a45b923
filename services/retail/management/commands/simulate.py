"""``manage.py simulate``: storefront traffic through checkout's actions."""

from __future__ import annotations

from typing import IO, Any, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from services.retail.simulator import NothingToSell, Simulator, Stats, run


class Command(BaseCommand):
    help = "Place and cancel orders at about --rate per second for --duration s."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--rate", type=float, default=50, help="Actions/s.")
        parser.add_argument("--duration", type=float, default=60, help="Seconds.")
        parser.add_argument("--seed", type=int, default=None, help="Repeatable run.")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Console(file=cast(IO[str], self.stdout), width=120)
        rate, duration = options["rate"], options["duration"]
        if rate <= 0 or duration <= 0:
            raise CommandError(
                f"--rate {rate} --duration {duration}: both must be above 0."
            )
        try:
            simulator = Simulator(seed=options["seed"])
        except NothingToSell as exc:
            raise CommandError(str(exc)) from exc
        expected = max(1, round(rate * duration))
        with Progress(
            TextColumn("simulating"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} actions"),
            TimeRemainingColumn(),
            console=out,
            transient=True,
        ) as progress:
            task = progress.add_task("simulate", total=expected)
            stats = run(
                simulator,
                rate=rate,
                duration=duration,
                on_step=lambda _: progress.advance(task),
            )
        out.print(summary(stats))
        if stats.interrupted:
            out.print("Interrupted: stopped after the request under way.")
        if stats.errors or stats.malformed_accepted:
            raise CommandError(
                "Some requests failed unexpectedly or malformed ones were accepted "
                "(see the table); look at the log of services.retail."
            )


def summary(stats: Stats) -> Table:
    """Return the end-of-run table: what was done, refused, and the real rate."""
    table = Table("what", "count", title="Simulated traffic")
    table.add_row("orders placed", str(stats.placed))
    table.add_row("  of them through a cart", str(stats.placed_via_cart))
    table.add_row("orders cancelled", str(stats.cancelled))
    table.add_row("cancellations refused (too late)", str(stats.cancel_refused))
    for reason, count in sorted(stats.rejected.items()):
        table.add_row(f"rejected at checkout: {reason}", str(count))
    for reason, count in sorted(stats.malformed_accepted.items()):
        table.add_row(f"[red]malformed but accepted: {reason}[/]", str(count))
    for error, count in sorted(stats.errors.items()):
        table.add_row(f"[red]error: {error}[/]", str(count))
    table.add_row("actions", str(stats.actions))
    table.add_row("actual rate", f"{stats.rate:.1f}/s over {stats.elapsed:.1f}s")
    return table
