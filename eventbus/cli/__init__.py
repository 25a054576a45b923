"""Subcommands of ``manage.py bus``; shared output helpers."""

from __future__ import annotations

from typing import IO, cast

from django.core.management.base import BaseCommand
from rich.console import Console


def console(command: BaseCommand, width: int = 140) -> Console:
    """Return a rich console that writes to the command's stdout."""
    return Console(file=cast(IO[str], command.stdout), width=width)
