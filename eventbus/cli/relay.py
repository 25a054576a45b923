"""bus relay: publish committed outbox events to the log until stopped."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from rich.console import Console
from rich.table import Table

from eventbus import cli
from eventbus.client import get_redis
from eventbus.keys import outbox_lease_key
from eventbus.leases import lease_holder
from eventbus.outbox import outbox_backlog, run_relay

HELP = (
    "Publish committed outbox events (publish_on_commit) to the log. Runs until "
    "SIGTERM/Ctrl-C; several relays may run, one works at a time."
)


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "--once", action="store_true", help="Relay what is pending, then exit."
    )
    parser.add_argument(
        "--timeout", type=float, metavar="SECONDS", help="Exit after this many seconds."
    )
    parser.add_argument(
        "--batch", type=int, default=500, help="Rows per batch (default 500)."
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.2,
        metavar="SECONDS",
        help="Sleep this long when idle (default 0.2).",
    )
    parser.add_argument(
        "--database", default="default", help="Database alias of the outbox table."
    )
    parser.add_argument(
        "--stats", action="store_true", help="Show the outbox backlog and exit."
    )


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    console = cli.console(command, 120)
    using = options["database"]
    if options["stats"]:
        _print_stats(console, using)
        return
    if options["batch"] < 1:
        raise CommandError(f"--batch must be at least 1, not {options['batch']}.")
    if options["poll_interval"] <= 0:
        raise CommandError("--poll-interval must be a positive number of seconds.")
    if not options["once"] and options["timeout"] is None:
        console.print("Relaying the outbox; stop with Ctrl-C or SIGTERM.")
    total = run_relay(
        poll_interval=options["poll_interval"],
        limit=options["batch"],
        using=using,
        timeout=options["timeout"],
        until_idle=options["once"],
        handle_signals=True,
    )
    backlog = outbox_backlog(using=using)
    console.print(
        f"Published {total} event(s); {backlog.pending} left in the outbox"
        + (f" (oldest {_age(backlog.oldest_created_at)})." if backlog.pending else ".")
    )


def _print_stats(console: Console, using: str) -> None:
    backlog = outbox_backlog(using=using)
    holder = lease_holder(get_redis(), outbox_lease_key(using))
    table = Table("pending", "oldest", "relay lease")
    table.add_row(
        str(backlog.pending),
        _age(backlog.oldest_created_at) if backlog.pending else "-",
        holder or "free",
    )
    console.print(table)


def _age(when: Any) -> str:
    seconds = (timezone.now() - when).total_seconds()
    if seconds < 120:
        return f"{seconds:.1f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"
