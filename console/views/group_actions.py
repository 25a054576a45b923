"""Move consumer groups: reset with a dry-run preview first, replay a time range."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from console.access import operator_required
from console.audit import audit_record
from console.forms_groups import (
    FormProblem,
    PreviewToken,
    parse_time_ms,
    partitions_from,
    target_from,
)
from console.group_ops import (
    as_previewed,
    group_reset_apply,
    moved_since,
    preview_context,
    preview_token,
)
from console.views.groups import fmt_when, group_context
from eventbus import create_group, get_topic, plan_reset
from eventbus.consumer.subscriptions import subscriptions
from eventbus.exceptions import BusError, BusUnavailable, UnknownGroup, UnknownTopic


def _form_error(
    request: HttpRequest, topic: str, group: str, problem: str, status: int = 400
) -> HttpResponse:
    """Re-render the group page with the reset form's problem and values."""
    context = group_context(topic, group)
    context["reset_error"] = problem
    context["form"] = request.POST
    return render(request, "console/group.html", context, status=status)


def _preview(
    request: HttpRequest, token: PreviewToken, plan: Any, *, stale: str = ""
) -> HttpResponse:
    context = {
        "page": "group-reset",
        "topic": token.topic,
        "group": token.group,
        **preview_context(token, plan, stale),
    }
    return render(
        request, "console/group_reset.html", context, status=409 if stale else 200
    )


def _plan(
    topic: str, group: str, mode: str, value: str, parts: list[int] | None
) -> Any:
    return plan_reset(topic, group, target_from(mode, value), partitions=parts)


@require_POST
@operator_required
def group_reset(request: HttpRequest, topic: str, group: str) -> HttpResponse:
    """Preview a reset (action=preview) or apply a previewed one (action=apply)."""
    try:
        info = get_topic(topic)
    except UnknownTopic as exc:
        raise Http404(str(exc)) from exc
    if request.POST.get("action") == "apply":
        return _apply(request, topic, group)
    mode = request.POST.get("mode", "")
    value = request.POST.get("value", "")
    try:
        parts = partitions_from(request.POST, info.partitions)
        plan = _plan(topic, group, mode, value, parts)
    except UnknownGroup as exc:
        raise Http404(str(exc)) from exc
    except BusUnavailable:
        raise
    except (FormProblem, BusError) as exc:
        return _form_error(request, topic, group, str(exc))
    return _preview(request, preview_token(plan, mode, value), plan)


def _apply(request: HttpRequest, topic: str, group: str) -> HttpResponse:
    try:
        token = PreviewToken.loads(request.POST.get("token", ""))
        if (token.topic, token.group) != (topic, group):
            raise FormProblem(
                f"This confirmation is for {token.topic} / {token.group}, not "
                f"{topic} / {group}. Preview the reset on this group's page."
            )
        # Re-plan to see where the group is now; only the current positions
        # are compared, the new ones come from the preview.
        plan = _plan(topic, group, token.mode, token.value, token.partitions)
    except UnknownGroup as exc:
        raise Http404(str(exc)) from exc
    except BusUnavailable:
        raise
    except (FormProblem, BusError) as exc:
        return _form_error(request, topic, group, str(exc))
    moved = moved_since(token, plan)
    if moved:
        why = (
            f"Positions moved since your preview ({moved}). Nothing was changed. "
            "Check the fresh plan below and confirm again, or stop the group's "
            "consumers first."
        )
        return _preview(
            request, preview_token(plan, token.mode, token.value), plan, stale=why
        )
    applied = group_reset_apply(
        plan=as_previewed(plan, token), user=request.user, via="console"
    )
    messages.success(
        request,
        f"Reset {group} on {topic} {applied.target.describe()}: "
        f"{applied.to_deliver} event(s) will be delivered.",
    )
    for warning in applied.warnings:
        messages.warning(request, warning)
    return redirect(reverse("console:group", args=[topic, group]))


def _handler_groups(topic: str) -> list[str]:
    """Return the groups whose handlers subscribe to ``topic`` (a replay runs one)."""
    return sorted({sub.group for sub in subscriptions() if sub.topic == topic})


def _worker_command(group: str, handlers: str) -> str:
    return f"celery -A config worker -n {group}@%h --bus-group {group}={handlers}"


@operator_required
def group_replay(request: HttpRequest, topic: str) -> HttpResponse:
    """Create a fresh group for the range [start, end) of a topic (POST)."""
    try:
        info = get_topic(topic)
    except UnknownTopic as exc:
        raise Http404(str(exc)) from exc
    handler_groups = _handler_groups(topic)
    context: dict[str, Any] = {
        "page": "group-replay",
        "topic": info,
        "form": {},
        "handler_groups": handler_groups,
    }
    if request.method != "POST":
        return render(request, "console/group_replay.html", context)
    form = request.POST
    context["form"] = form
    try:
        name = form.get("group", "").strip()
        start_ms = parse_time_ms(form.get("start", ""), "Start")
        end_raw = form.get("end", "").strip()
        end_ms = parse_time_ms(end_raw, "End") if end_raw else None
        if end_ms is not None and end_ms <= start_ms:
            raise FormProblem("End must be after start; leave it empty for no end.")
        handlers = form.get("handlers", "").strip()
        if handlers and handlers not in handler_groups:
            raise FormProblem(
                f"No handlers of group '{handlers}' subscribe to {topic}. Pick one "
                f"of: {', '.join(handler_groups) or 'none'} (or leave it empty)."
            )
        created = create_group(topic, name, start=start_ms, until=end_ms)
    except BusUnavailable:
        raise
    except (FormProblem, BusError) as exc:
        context["error"] = str(exc)
        return render(request, "console/group_replay.html", context, status=400)
    detail: dict[str, Any] = {"start_ms": start_ms, "end_ms": end_ms}
    if handlers:
        detail["handlers"] = handlers
    audit_record(
        user=request.user,
        action="group.replay",
        target=f"{topic} / {name}",
        before=None,
        after={str(p.partition): p.position for p in created.partitions},
        detail=detail,
    )
    until = f" until {fmt_when(end_ms)}" if end_ms else ""
    stops = (
        " It stops handling at the end; once the group page shows it done, stop "
        "the worker and delete the group."
        if end_ms
        else ""
    )
    messages.success(
        request,
        f"Created group {name} on {topic} at {fmt_when(start_ms)}{until}. Run it "
        f"with: {_worker_command(name, handlers or '<service>')}.{stops}",
    )
    return redirect(reverse("console:group", args=[topic, name]))
