"""``manage.py analytics flush|rebuild_day``: operate the lake."""

from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from eventbus.exceptions import BusError
from services.analytics.actions import lake_flush, lake_rebuild_day
from services.analytics.exceptions import AnalyticsError


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(
            f"{value!r} is not a date; write it as YYYY-MM-DD (UTC day)."
        ) from exc


class Command(BaseCommand):
    help = "Operate the analytics lake: flush staged events, rebuild a day."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="sub", required=True)
        sub.add_parser("flush", help="Write staged events to Parquet now.")
        rebuild = sub.add_parser(
            "rebuild_day", help="Rewrite a topic's UTC day of the lake from the log."
        )
        rebuild.add_argument("topic")
        rebuild.add_argument("day", help="YYYY-MM-DD (UTC)")
        rebuild.add_argument(
            "--force",
            action="store_true",
            help="Rebuild even if the log lost events the lake has (trimmed).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            if options["sub"] == "flush":
                flushed = lake_flush()
                self.stdout.write(
                    f"Wrote {flushed.rows} rows in {len(flushed.files)} files "
                    f"({flushed.skipped} already archived)."
                )
                return
            rebuilt = lake_rebuild_day(
                topic=options["topic"], day=_day(options["day"]), force=options["force"]
            )
        except (BusError, AnalyticsError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Rebuilt {options['topic']} {options['day']}: {rebuilt.rows} rows in "
            f"{len(rebuilt.files)} files ({rebuilt.duplicates} duplicate ids "
            f"dropped, {rebuilt.kept_newer} newer rows kept)."
        )
