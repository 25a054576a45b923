"""bus consume: run a Celery worker that hosts one consumer group."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eventbus.consumer.subscriptions import group_spec, handlers_for, where_created
from eventbus.exceptions import BusError

HELP = (
    "Run 'celery -A config worker -n GROUP@%h --bus-group GROUP' (extra arguments "
    "after '--' go to celery). GROUP=HANDLERS runs the handlers of HANDLERS as GROUP."
)


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument(
        "group",
        help="The consumer group to run, e.g. inventory, or NEW=HANDLERS such as "
        "analytics-replay=analytics (analytics' handlers as group analytics-replay)",
    )
    parser.add_argument(
        "celery_args", nargs="*", help="Arguments for celery worker (after --)"
    )


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    spec = options["group"]
    try:
        group, handlers = group_spec(spec)
        subs = handlers_for(group, handlers)  # the worker would refuse: say so now
        if handlers != group:
            where_created(group, handlers, subs)
    except BusError as exc:
        raise CommandError(str(exc)) from exc
    here = str(Path(sys.executable).parent)  # the virtualenv's celery first
    celery = shutil.which("celery", path=here) or shutil.which("celery")
    if celery is None:
        raise CommandError("celery is not installed; run 'make setup'.")
    argv = [
        celery, "-A", "config", "worker",
        "-n", f"{group}@%h",
        "--bus-group", spec.strip(),
        *options["celery_args"],
    ]  # fmt: skip
    command.stdout.write(" ".join(argv))
    command.stdout.flush()
    os.execv(celery, argv)
