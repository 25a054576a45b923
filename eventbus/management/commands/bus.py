"""``manage.py bus <subcommand>``: one entry point for every bus operation.

Each subcommand lives in ``eventbus/cli/<name>.py`` and provides ``HELP``,
``add_arguments(parser)`` and ``handle(command, options)``. Other apps add
subcommands through ``settings.BUS_CLI_EXTRA`` (name -> module path), so the
bus offers them without importing those apps (``bus token`` is the console's).
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType
from typing import Any

from django.conf import settings
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


def _extra() -> dict[str, str]:
    extra: dict[str, str] = getattr(settings, "BUS_CLI_EXTRA", {})
    return extra


def _load(name: str) -> ModuleType | None:
    # The bus's own subcommands win: an extra cannot shadow one of them.
    path = f"eventbus.cli.{name}" if name in SUBCOMMANDS else _extra()[name]
    try:
        return import_module(path)
    except ModuleNotFoundError as exc:
        if exc.name != path:
            raise
        if name in SUBCOMMANDS:
            return None
        raise CommandError(
            f"settings.BUS_CLI_EXTRA names the module '{path}' for 'bus {name}', "
            "but there is no such module. Fix the path or remove the entry."
        ) from exc


class Command(BaseCommand):
    help = "Operate the event bus: topics, publish, tail, groups, lag, reset, trim."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="subcommand", required=True, metavar="SUBCOMMAND"
        )
        for name in (*SUBCOMMANDS, *sorted(set(_extra()) - set(SUBCOMMANDS))):
            module = _load(name)
            if module is None:
                continue
            # argparse %-formats help (not description): "%h" must be "%%h".
            child = sub.add_parser(
                name, help=module.HELP.replace("%", "%%"), description=module.HELP
            )
            module.add_arguments(child)

    def handle(self, *args: Any, **options: Any) -> None:
        module = _load(options["subcommand"])
        assert module is not None
        try:
            module.handle(self, options)
        except BusError as exc:
            raise CommandError(str(exc)) from exc
