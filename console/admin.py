"""Django admin for the console's records: alert rules, alerts, the audit log.

The bus objects' admin lives next to it (imported below so that Django's
autodiscovery registers it): topics and the outbox (admin_topics), event
schemas (admin_schemas), consumer groups with resets and dead letters
(admin_groups, admin_deadletters), API tokens (admin_tokens) and users
(admin_users). Every change there that touches the bus is audited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from console import (  # noqa: F401  (registers their ModelAdmins)
    admin_groups,
    admin_schemas,
    admin_tokens,
    admin_topics,
    admin_users,
)
from console.admin_audit import AuditedAdmin
from console.alert_forms import AlertRuleForm, rule_snapshot
from console.models import Alert, AlertRule, AuditEntry
from eventbus.admin import ReadOnlyAdmin


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
class AlertRuleAdmin(AuditedAdmin):
    form = AlertRuleForm
    list_display = ["name", "topic", "group", "metric", "threshold", "for_seconds"]
    list_display += ["enabled", "last_value", "pending_since"]
    list_filter = ["enabled", "metric", "topic"]
    search_fields = ["name", "topic", "group"]
    readonly_fields = ["pending_since", "last_value", "last_evaluated_at"]
    inlines = [AlertInline]
    delete_action = "alert_rule.change"
    delete_detail = {"op": "delete"}

    def audit_target(self, obj: AlertRule) -> str:
        return f"alert rule {obj.name}"

    def audit_snapshot(self, obj: AlertRule) -> dict[str, Any]:
        return rule_snapshot(obj)

    def save_model(
        self, request: HttpRequest, obj: AlertRule, form: Any, change: bool
    ) -> None:
        # Rule changes are audited the same wherever they are made.
        before = None
        if change:
            before = rule_snapshot(AlertRule.objects.get(pk=obj.pk))
        super().save_model(request, obj, form, change)
        self.audit(
            request,
            obj,
            "alert_rule.change",
            before=before,
            after=rule_snapshot(obj),
            detail={"op": "update" if change else "create"},
        )


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
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit trail is evidence: nobody edits or deletes it here."""

    list_display = ["at", "username", "via", "action", "target"]
    list_filter = ["action", "via"]
    search_fields = ["username", "target", "action"]
    date_hierarchy = "at"
    readonly_fields = [f.name for f in AuditEntry._meta.fields]
