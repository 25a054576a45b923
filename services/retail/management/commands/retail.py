"""``manage.py retail seed|check``: seed the demo data, verify the invariants."""

from __future__ import annotations

from dataclasses import asdict
from typing import IO, Any, cast

import orjson
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.table import Table

from eventbus.exceptions import BusError
from eventbus.topics import sync_topics
from services.retail import invariants
from services.retail.seed import seed

NOT_DRAINED = 2


class Command(BaseCommand):
    help = "Retail demo tools: 'seed' the shop, 'check' the invariants."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True)
        seeding = sub.add_parser("seed", help="Create products, customers, stock.")
        seeding.add_argument("--products", type=int, default=40)
        seeding.add_argument("--customers", type=int, default=200)
        seeding.add_argument("--stock", type=int, default=50, help="Units per SKU.")
        seeding.add_argument("--seed", type=int, default=0)
        checking = sub.add_parser(
            "check", help="Verify docs/retail.md's invariants after traffic drained."
        )
        checking.add_argument("--json", action="store_true", help="Print JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        out = Console(file=cast(IO[str], self.stdout), width=140)
        try:
            if options["subcommand"] == "seed":
                self._seed(out, options)
            else:
                self._check(out, options)
        except BusError as exc:
            raise CommandError(str(exc)) from exc

    def _seed(self, out: Console, options: dict[str, Any]) -> None:
        # Topic rows must exist before stock_create can publish levels.
        sync_topics()
        try:
            result = seed(
                products=options["products"],
                customers=options["customers"],
                stock=options["stock"],
                seed=options["seed"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        out.print(
            f"Created {result.products} products, {result.stock_items} stock items "
            f"and {result.customers} customers (existing rows left as they were)."
        )

    def _check(self, out: Console, options: dict[str, Any]) -> None:
        waiting = invariants.drain_state()
        if waiting:
            if options["json"]:
                self.stdout.write(
                    orjson.dumps({"drained": False, "waiting": waiting}).decode()
                )
            raise CommandError(
                "not drained yet: "
                + "; ".join(waiting)
                + ". Let the workers and the relay catch up, then check again.",
                returncode=NOT_DRAINED,
            )
        problems = invariants.check_all()
        if options["json"]:
            self.stdout.write(
                orjson.dumps(
                    {"drained": True, "problems": [asdict(p) for p in problems]}
                ).decode()
            )
        elif problems:
            table = Table("kind", "id", "what is off", title="Broken invariants")
            for problem in problems:
                table.add_row(problem.kind, problem.ref, problem.message)
            out.print(table)
        else:
            out.print("All invariants hold.")
        if problems:
            raise CommandError(f"{len(problems)} invariant problem(s) found.")
