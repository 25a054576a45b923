"""Read, redrive and purge dead letters: one path for console, admin and API.

The front doors differ in how they name letters (a form, a JSON body) and
how they answer (a page, a redirect, JSON); how letters are listed and
counted, and what a redrive or purge writes to the audit log, is here once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.http import urlencode

from console.audit import audit_record
from console.forms_deadletters import describe, filters_from
from console.views.groups import fmt_when
from eventbus import (
    DeadLetter,
    count_dead_letters,
    list_dead_letters,
    purge,
    redrive,
)

PAGE_SIZE = 50


@dataclass(frozen=True)
class LetterPage:
    """One page of a group's letters as table rows."""

    rows: list[dict[str, Any]]
    total: int  # all the group holds, not only this page or filter
    next_url: str | None  # the query string of the next page, if any


@dataclass(frozen=True)
class LetterChange:
    """What a redrive or purge did: letters acted on, held before and after."""

    done: int
    before: int
    after: int


def letter_row(letter: DeadLetter) -> dict[str, Any]:
    """Return one letter as a table row (console and admin pages)."""
    return {
        "id": letter.dlq_id,
        "event_type": letter.event_type or "(not an envelope)",
        "error_type": letter.error_type,
        "message": letter.error_message,
        "attempts": letter.attempts,
        "dead_at": fmt_when(letter.dead_at_ms),
        "origin": f"{letter.partition}/{letter.stream_id}"
        if letter.partition is not None
        else f"redrive/{letter.stream_id}",
    }


def letter_payload(letter: DeadLetter) -> str:
    """Return the letter's event as pretty JSON, or its raw text if not JSON."""
    text = letter.wire.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text  # a poison event may not be JSON at all: show it as is


def letter_context(letter: DeadLetter) -> dict[str, Any]:
    """Return what a letter's page shows: error, traceback, payload, times."""
    return {
        "letter": letter,
        "row": letter_row(letter),
        "payload": letter_payload(letter),
        "first_failure": fmt_when(letter.first_failure_ms),
        "last_failure": fmt_when(letter.last_failure_ms),
    }


def letter_count(topic: str, group: str) -> int:
    """Return how many dead letters the group holds (0 without a stream)."""
    return count_dead_letters(topic, group).get((topic, group), 0)


def holding_groups() -> list[dict[str, Any]]:
    """Return every group with a dead-letter stream and its count, by name."""
    counts = count_dead_letters()
    return [
        {"topic": t, "group": g, "count": n} for (t, g), n in sorted(counts.items())
    ]


def letters_page(
    topic: str, group: str, filters: dict[str, str], cursor: str | None
) -> LetterPage:
    """Return a page of the group's letters, newest first, matching ``filters``."""
    page = list_dead_letters(
        topic,
        group,
        types=filters.get("type"),
        error_type=filters.get("error_type"),
        text=filters.get("text"),
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    total = letter_count(topic, group)
    next_url = None
    if page.next_cursor:
        next_url = "?" + urlencode({**filters, "cursor": page.next_cursor})
    return LetterPage([letter_row(x) for x in page.items], total, next_url)


def purge_prompt(
    data: QueryDict, group: str, scope: str, chosen: dict[str, Any], would: int
) -> tuple[dict[str, Any], int] | None:
    """Return the purge confirmation's context and status, or None if confirmed.

    A purge needs the group's name typed again: a wrong name shows the
    confirmation again with the problem (400), no confirmation yet shows it.
    """
    confirmed = data.get("confirm") == "1"
    if confirmed and data.get("confirm_group", "").strip() == group:
        return None
    context = {
        "scope": scope,
        "what": describe(scope, chosen),
        "would": would,
        "ids": chosen.get("ids", []),
        "filters": filters_from(data),
        "error": (
            f"Type the group name '{group}' exactly to confirm the purge."
            if confirmed
            else ""
        ),
    }
    return context, 400 if confirmed else 200


def letters_redrive(
    *,
    topic: str,
    group: str,
    chosen: dict[str, Any],
    user: Any,
    via: str,
    scope: str | None = None,
    caller: str | None = None,
) -> LetterChange:
    """Send the ``chosen`` letters back to ``group`` only, and audit it."""
    before = letter_count(topic, group)
    moved = redrive(topic, group, **chosen)
    change = LetterChange(moved, before, letter_count(topic, group))
    detail = {**_selection(scope, chosen), "moved": moved}
    if caller is not None:
        detail["caller"] = caller
    _audit(
        "deadletter.redrive", topic, group, change, user=user, via=via, detail=detail
    )
    return change


def letters_purge(
    *, topic: str, group: str, chosen: dict[str, Any], user: Any, via: str, scope: str
) -> LetterChange:
    """Delete the ``chosen`` letters of ``group``, and audit it."""
    before = letter_count(topic, group)
    removed = purge(topic, group, **chosen)
    change = LetterChange(removed, before, letter_count(topic, group))
    detail = {**_selection(scope, chosen), "removed": removed}
    _audit("deadletter.purge", topic, group, change, user=user, via=via, detail=detail)
    return change


def _selection(scope: str | None, chosen: dict[str, Any]) -> dict[str, Any]:
    # The API names no scope: its body says ids, filters or all directly.
    given = {k: v for k, v in chosen.items() if v}
    return given if scope is None else {"scope": scope, **given}


def _audit(
    action: str,
    topic: str,
    group: str,
    change: LetterChange,
    *,
    user: Any,
    via: str,
    detail: dict[str, Any],
) -> None:
    audit_record(
        user=user,
        action=action,
        target=f"{topic} / {group}",
        before={"letters": change.before},
        after={"letters": change.after},
        detail=detail,
        via=via,
    )
