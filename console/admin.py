"""Django admin for the console's records: alert rules, alerts, the audit log."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from console.alert_forms import AlertRuleForm, rule_snapshot
from console.audit import audit_record
from console.models import Alert, AlertRule, AuditEntry


class AlertInline(admin.TabularInline):
    model = Alert
    extra = 0
    can_delete = False
    fields = ["state", "started_at", "resolved_at", "value_at_fire", "last_value"]
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = ["name", "topic", "group", "metric", "threshold", "for_seconds"]
    list_display += ["enabled", "last_value", "pending_since"]
    list_filter = ["enabled", "metric", "topic"]
    search_fields = ["name", "topic", "group"]
    readonly_fields = ["pending_since", "last_value", "last_evaluated_at"]
    inlines = [AlertInline]

    def save_model(
        self, request: HttpRequest, obj: AlertRule, form: Any, change: bool
    ) -> None:
        # Rule changes are audited the same wherever they are made.
        before = None
        if change:
            before = rule_snapshot(AlertRule.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)
        audit_record(
            user=request.user,
            action="alert_rule.change",
            target=f"alert rule {obj.name}",
            before=before,
            after=rule_snapshot(obj),
            detail={"op": "update" if change else "create"},
            via="admin",
        )

    def delete_model(self, request: HttpRequest, obj: AlertRule) -> None:
        audit_record(
            user=request.user,
            action="alert_rule.change",
            target=f"alert rule {obj.name}",
            before=rule_snapshot(obj),
            detail={"op": "delete"},
            via="admin",
        )
        super().delete_model(request, obj)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ["rule", "state", "started_at", "resolved_at", "value_at_fire"]
    list_display += ["last_value"]
    list_filter = ["state"]
    date_hierarchy = "started_at"
    readonly_fields = [f.name for f in Alert._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit trail is evidence: nobody edits or deletes it here."""

    list_display = ["at", "username", "via", "action", "target"]
    list_filter = ["action", "via"]
    search_fields = ["username", "target", "action"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
