"""bus sync: create declared topics and store declared event schemas."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from eventbus.catalog import sync_schemas
from eventbus.topics import sync_topics

HELP = (
    "Create topics declared in code (grow partitions, never shrink) and store schemas."
)


def add_arguments(parser: CommandParser) -> None:
    pass


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    with transaction.atomic():
        topics = sync_topics()
        schemas = sync_schemas()
    out = command.stdout
    for name in topics.created:
        out.write(f"created topic {name}")
    for name, before, after in topics.grown:
        out.write(f"grew topic {name}: {before} -> {after} partitions")
    for name, current, declared in topics.kept_larger:
        out.write(
            command.style.WARNING(
                f"topic {name} keeps {current} partitions (code declares {declared}; "
                "partitions never shrink)"
            )
        )
    for label in schemas.added:
        out.write(f"registered schema {label}")
    out.write(
        command.style.SUCCESS(
            f"sync done: {len(topics.created)} topic(s) created, {len(topics.grown)} "
            f"grown, {len(topics.unchanged)} unchanged; {len(schemas.added)} schema "
            f"version(s) added, {len(schemas.unchanged)} unchanged"
        )
    )
