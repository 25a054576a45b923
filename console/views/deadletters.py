"""Dead letters: counts per group, a group's letters, one letter, redrive, purge."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from console.access import operator_required, viewer_required
from console.audit import audit_record
from console.forms_deadletters import (
    SelectionProblem,
    describe,
    filters_from,
    selection_from,
)
from console.views.groups import fmt_when
from eventbus import (
    DeadLetter,
    count_dead_letters,
    get_dead_letter,
    list_dead_letters,
    purge,
    redrive,
)
from eventbus.exceptions import (
    BusError,
    BusUnavailable,
    DeadLetterNotFound,
    InvalidGroupName,
    InvalidTopicName,
)

PAGE_SIZE = 50


def _letter_row(letter: DeadLetter) -> dict[str, Any]:
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


def _count(topic: str, group: str) -> int:
    return count_dead_letters(topic, group).get((topic, group), 0)


@viewer_required
def deadletters(request: HttpRequest) -> HttpResponse:
    """List every group that has a dead-letter stream, with how many it holds."""
    problem = None
    rows: list[dict[str, Any]] = []
    try:
        counts = count_dead_letters()
        rows = [
            {"topic": t, "group": g, "count": n} for (t, g), n in sorted(counts.items())
        ]
    except BusUnavailable as exc:
        problem = str(exc)
    context = {"page": "deadletters", "rows": rows, "problem": problem}
    return render(request, "console/deadletters.html", context)


@viewer_required
def deadletters_group(request: HttpRequest, topic: str, group: str) -> HttpResponse:
    """List one group's dead letters, newest first, filtered and paged."""
    found = filters_from(request.GET)
    cursor = request.GET.get("cursor") or None
    error = None
    try:
        page = list_dead_letters(
            topic,
            group,
            types=found.get("type"),
            error_type=found.get("error_type"),
            text=found.get("text"),
            limit=PAGE_SIZE,
            cursor=cursor,
        )
        total = _count(topic, group)
    except (InvalidTopicName, InvalidGroupName) as exc:
        raise Http404(str(exc)) from exc
    except BusUnavailable:
        raise
    except BusError as exc:
        error, page, total = str(exc), None, 0
    next_url = None
    if page is not None and page.next_cursor:
        next_url = "?" + urlencode({**found, "cursor": page.next_cursor})
    context = {
        "page": "deadletters-group",
        "topic": topic,
        "group": group,
        "letters": [_letter_row(x) for x in page.items] if page else [],
        "total": total,
        "filters": found,
        "filtered": bool(found),
        "next_url": next_url,
        "paged": cursor is not None,
        "error": error,
    }
    return render(request, "console/deadletters_group.html", context)


def _payload(letter: DeadLetter) -> str:
    text = letter.wire.decode("utf-8", "replace")
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text  # a poison event may not be JSON at all: show it as is


@viewer_required
def deadletter(
    request: HttpRequest, topic: str, group: str, dlq_id: str
) -> HttpResponse:
    """Show one dead letter: error, full traceback, payload, attempts."""
    try:
        letter = get_dead_letter(topic, group, dlq_id)
    except (DeadLetterNotFound, InvalidTopicName, InvalidGroupName) as exc:
        raise Http404(str(exc)) from exc
    except BusUnavailable:
        raise
    except BusError as exc:
        raise Http404(str(exc)) from exc
    context = {
        "page": "deadletter",
        "topic": topic,
        "group": group,
        "letter": letter,
        "row": _letter_row(letter),
        "payload": _payload(letter),
        "first_failure": fmt_when(letter.first_failure_ms),
        "last_failure": fmt_when(letter.last_failure_ms),
    }
    return render(request, "console/deadletter.html", context)


def _back(request: HttpRequest, topic: str, group: str) -> HttpResponse:
    url = reverse("console:deadletters-group", args=[topic, group])
    found = filters_from(request.POST)
    return redirect(url + ("?" + urlencode(found) if found else ""))


@require_POST
@operator_required
def deadletter_redrive(request: HttpRequest, topic: str, group: str) -> HttpResponse:
    """Send the named dead letters back to this group only, and audit it."""
    try:
        scope, chosen = selection_from(request.POST)
        before = _count(topic, group)
        moved = redrive(topic, group, **chosen)
        after = _count(topic, group)
    except BusUnavailable:
        raise
    except (SelectionProblem, BusError) as exc:
        messages.error(request, str(exc))
        return _back(request, topic, group)
    audit_record(
        user=request.user,
        action="deadletter.redrive",
        target=f"{topic} / {group}",
        before={"letters": before},
        after={"letters": after},
        detail={"scope": scope, **_detail(chosen), "moved": moved},
    )
    messages.success(
        request,
        f"Redrove {moved} of {describe(scope, chosen)} to group {group}; its "
        "workers process them from the group's redrive stream.",
    )
    return _back(request, topic, group)


def _detail(chosen: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in chosen.items() if v}


@require_POST
@operator_required
def deadletter_purge(request: HttpRequest, topic: str, group: str) -> HttpResponse:
    """Delete the named dead letters after a typed confirmation, and audit it."""
    try:
        scope, chosen = selection_from(request.POST)
        would = purge(topic, group, dry_run=True, **chosen)
    except BusUnavailable:
        raise
    except (SelectionProblem, BusError) as exc:
        messages.error(request, str(exc))
        return _back(request, topic, group)
    confirmed = request.POST.get("confirm") == "1"
    typed = request.POST.get("confirm_group", "").strip()
    if not confirmed or typed != group:
        context = {
            "page": "deadletter-purge",
            "topic": topic,
            "group": group,
            "scope": scope,
            "what": describe(scope, chosen),
            "would": would,
            "ids": chosen.get("ids", []),
            "filters": filters_from(request.POST),
            "error": (
                f"Type the group name '{group}' exactly to confirm the purge."
                if confirmed
                else ""
            ),
        }
        status = 400 if confirmed else 200
        return render(request, "console/deadletter_purge.html", context, status=status)
    before = _count(topic, group)
    removed = purge(topic, group, **chosen)
    after = _count(topic, group)
    audit_record(
        user=request.user,
        action="deadletter.purge",
        target=f"{topic} / {group}",
        before={"letters": before},
        after={"letters": after},
        detail={"scope": scope, **_detail(chosen), "removed": removed},
    )
    messages.success(request, f"Purged {removed} dead letter(s) of group {group}.")
    return _back(request, topic, group)
