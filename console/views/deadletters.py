"""Dead letters: counts per group, a group's letters, one letter, redrive, purge."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_POST

from console.access import operator_required, viewer_required
from console.deadletter_ops import (
    LetterPage,
    holding_groups,
    letter_context,
    letters_page,
    letters_purge,
    letters_redrive,
    purge_prompt,
)
from console.forms_deadletters import (
    SelectionProblem,
    describe,
    filters_from,
    selection_from,
)
from eventbus import get_dead_letter, purge
from eventbus.exceptions import (
    BusError,
    BusUnavailable,
    DeadLetterNotFound,
    InvalidGroupName,
    InvalidTopicName,
)


@viewer_required
def deadletters(request: HttpRequest) -> HttpResponse:
    """List every group that has a dead-letter stream, with how many it holds."""
    problem = None
    rows: list[dict[str, Any]] = []
    try:
        rows = holding_groups()
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
        page = letters_page(topic, group, found, cursor)
    except (InvalidTopicName, InvalidGroupName) as exc:
        raise Http404(str(exc)) from exc
    except BusUnavailable:
        raise
    except BusError as exc:
        error, page = str(exc), LetterPage([], 0, None)
    context = {
        "page": "deadletters-group",
        "topic": topic,
        "group": group,
        "letters": page.rows,
        "total": page.total,
        "filters": found,
        "filtered": bool(found),
        "next_url": page.next_url,
        "paged": cursor is not None,
        "error": error,
    }
    return render(request, "console/deadletters_group.html", context)


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
        **letter_context(letter),
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
        moved = letters_redrive(
            topic=topic,
            group=group,
            chosen=chosen,
            user=request.user,
            via="console",
            scope=scope,
        ).done
    except BusUnavailable:
        raise
    except (SelectionProblem, BusError) as exc:
        messages.error(request, str(exc))
        return _back(request, topic, group)
    messages.success(
        request,
        f"Redrove {moved} of {describe(scope, chosen)} to group {group}; its "
        "workers process them from the group's redrive stream.",
    )
    return _back(request, topic, group)


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
    prompt = purge_prompt(request.POST, group, scope, chosen, would)
    if prompt is not None:
        asked, status = prompt
        context = {"page": "deadletter-purge", "topic": topic, "group": group, **asked}
        return render(request, "console/deadletter_purge.html", context, status=status)
    removed = letters_purge(
        topic=topic,
        group=group,
        chosen=chosen,
        user=request.user,
        via="console",
        scope=scope,
    ).done
    messages.success(request, f"Purged {removed} dead letter(s) of group {group}.")
    return _back(request, topic, group)
