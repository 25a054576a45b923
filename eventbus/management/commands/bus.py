"""``manage.py bus <subcommand>``: one entry point for every bus operation.

Each subcommand lives in ``eventbus/cli/<name>.py`` and provides ``HELP``,
``add_arguments(parser)`` and ``handle(command, options)``.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eventbus.exceptions import BusError

SUBCOMMANDS = (
    "topics",
    "sync",
    "publish",
    "tail",
    "groups",
    "lag",
    "reset",
    "trim",
    "relay",
    "dlq",
    "consume",
)


def _load(name: str) -> ModuleType | None:
    try:
        return import_module(f"eventbus.cli.{name}")
    except ModuleNotFoundError as exc:
        if exc.name == f"eventbus.cli.{name}":
            return None
        raise


class Command(BaseCommand):
    help = "Operate the event bus: topics, publish, tail, groups, lag, reset, trim."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="SUBCOMMAND"
        )
        for name in SUBCOMMANDS:
            module = _load(name)
            if module is None:
                continue
            child = sub.add_parser(name, help=module.HELP, description=module.HELP)
            module.add_arguments(child)

    def handle(self, *args: Any, **options: Any) -> None:
        module = _load(options["subcommand"])
        assert module is not None
        try:
            module.handle(self, options)
        except BusError as exc:
            raise CommandError(str(exc)) from exc
