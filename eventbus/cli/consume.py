"""bus consume: run a Celery worker that hosts one consumer group."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eventbus.consumer.subscriptions import subscriptions

HELP = (
    "Run 'celery -A config worker -n GROUP@%h --bus-group GROUP' (extra arguments "
    "after '--' go to celery)."
)


def add_arguments(parser: CommandParser) -> None:
    parser.add_argument("group", help="The consumer group to run, e.g. inventory")
    parser.add_argument(
        "celery_args", nargs="*", help="Arguments for celery worker (after --)"
    )


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    group = options["group"]
    known = sorted({sub.group for sub in subscriptions()})
    if group not in known:
        raise CommandError(
            f"No handlers subscribe for group '{group}'. Known groups: "
            f"{', '.join(known) or 'none'}. Declare handlers with @subscribe in a "
            "services/<name>/handlers.py module."
        )
    here = str(Path(sys.executable).parent)  # the virtualenv's celery first
    celery = shutil.which("celery", path=here) or shutil.which("celery")
    if celery is None:
        raise CommandError("celery is not installed; run 'make setup'.")
    argv = [
        celery, "-A", "config", "worker",
        "-n", f"{group}@%h",
        "--bus-group", group,
        *options["celery_args"],
    ]  # fmt: skip
    command.stdout.write(" ".join(argv))
    command.stdout.flush()
    os.execv(celery, argv)
