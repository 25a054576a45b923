"""The alerts page: rules with their state, alert history; admins edit rules."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from console.access import admin_required, viewer_required
from console.alert_forms import AlertRuleForm, rule_snapshot
from console.audit import audit_record
from console.models import Alert, AlertRule, AlertState

ACTION = "alert_rule.change"
HISTORY = 50  # alerts shown in the history table


@viewer_required
def alerts(request: HttpRequest) -> HttpResponse:
    """List the rules with their current state and the recent alerts."""
    rules = list(AlertRule.objects.all())
    firing = {a.rule_id: a for a in Alert.objects.filter(state=AlertState.FIRING)}
    rows = [
        {"rule": rule, "state": _state(rule, firing.get(rule.pk))} for rule in rules
    ]
    history = Alert.objects.select_related("rule")[:HISTORY]
    context = {"page": "alerts", "rows": rows, "history": history}
    return render(request, "console/alerts.html", context)


def _state(rule: AlertRule, alert: Alert | None) -> dict[str, Any]:
    if alert is not None:
        return {"label": "firing", "css": "bad", "since": alert.started_at}
    if not rule.enabled:
        return {"label": "disabled", "css": "muted", "since": None}
    if rule.last_evaluated_at is None:
        return {"label": "not evaluated yet", "css": "muted", "since": None}
    if rule.last_value is None:
        return {"label": "unknown", "css": "warn", "since": None}
    if rule.pending_since is not None:
        return {"label": "pending", "css": "warn", "since": rule.pending_since}
    return {"label": "ok", "css": "ok", "since": None}


@admin_required
def rule_new(request: HttpRequest) -> HttpResponse:
    """Show the empty rule form; create the rule on POST."""
    form = AlertRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            rule = form.save()
            _audit(request, rule, "create", None, rule_snapshot(rule))
        messages.success(request, f"Alert rule '{rule.name}' created.")
        return redirect("console:alerts")
    return _form_page(request, form, None)


@admin_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a rule's form; save the changes on POST."""
    rule = get_object_or_404(AlertRule, pk=pk)
    before = rule_snapshot(rule)
    form = AlertRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            rule = form.save(commit=False)
            watched = ("topic", "group", "metric", "for_seconds")
            if any(before[name] != getattr(rule, name) for name in watched):
                # A different condition: what was pending or counted no longer applies.
                rule.pending_since, rule.dl_last_count, rule.dl_samples = None, None, []
            rule.save()
            _audit(request, rule, "update", before, rule_snapshot(rule))
        messages.success(request, f"Alert rule '{rule.name}' saved.")
        return redirect("console:alerts")
    return _form_page(request, form, rule)


@admin_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a rule and its alert history."""
    rule = get_object_or_404(AlertRule, pk=pk)
    with transaction.atomic():
        _audit(request, rule, "delete", rule_snapshot(rule), None)
        rule.delete()
    messages.success(request, f"Alert rule '{rule.name}' deleted.")
    return redirect("console:alerts")


@admin_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Enable a disabled rule or disable an enabled one."""
    rule = get_object_or_404(AlertRule, pk=pk)
    before = rule_snapshot(rule)
    with transaction.atomic():
        rule.enabled = not rule.enabled
        rule.save(update_fields=["enabled", "updated_at"])
        op = "enable" if rule.enabled else "disable"
        _audit(request, rule, op, before, rule_snapshot(rule))
    done = "enabled" if rule.enabled else "disabled (its alert resolves next round)"
    messages.success(request, f"Alert rule '{rule.name}' {done}.")
    return redirect("console:alerts")


def _audit(
    request: HttpRequest,
    rule: AlertRule,
    op: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> None:
    audit_record(
        user=request.user,
        action=ACTION,
        target=f"alert rule {rule.name}",
        before=before,
        after=after,
        detail={"op": op},
    )


def _form_page(
    request: HttpRequest, form: AlertRuleForm, rule: AlertRule | None
) -> HttpResponse:
    context = {"page": "alerts", "form": form, "rule": rule}
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "console/alert_rule_form.html", context, status=status)
