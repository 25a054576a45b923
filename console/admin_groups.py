"""Django admin for consumer groups: lag, reset with a dry-run first, dead letters.

A reset goes form → preview (the dry run: what each partition will
re-deliver or skip) → confirm, exactly like the console's group page: the
Confirm button carries the signed preview (console/forms_groups.py), a stale
preview is shown again instead of applied, and the applied reset is audited.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from console.admin_deadletters import DeadLetterViews
from console.admin_live import redis_down, unknown
from console.forms_groups import (
    MODES,
    FormProblem,
    PreviewToken,
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
from console.views.groups import fmt_ms
from eventbus import count_dead_letters, get_topic, group_lag, plan_reset
from eventbus.admin import ReadOnlyAdmin
from eventbus.exceptions import BusError
from eventbus.models import ConsumerGroup

RESET = "eventbus.reset_consumergroup"


@admin.register(ConsumerGroup)
class ConsumerGroupAdmin(DeadLetterViews, ReadOnlyAdmin):
    list_display = ("name", "topic", "start", "backlog", "time_lag", "dead_letters")
    list_display += ("created_at",)
    list_filter = ("topic",)
    search_fields = ("name", "topic")
    readonly_fields = ("backlog", "time_lag", "dead_letters")
    actions = ["reset_positions"]

    # Read-only: groups are created by workers and `bus groups create`, and
    # deleted with `bus groups delete` (which also removes them from Redis).
    # Positions move only through the audited reset below.

    def has_reset_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm(RESET))

    def get_urls(self) -> list[URLPattern]:
        reset = path(
            "<path:object_id>/reset/",
            self.admin_site.admin_view(self.reset_view),
            name="eventbus_consumergroup_reset",
        )
        return [*self.deadletter_urls(), reset, *super().get_urls()]

    # --- live figures (unknown, never 0, when Redis cannot tell) ------------

    def _lag(self, obj: ConsumerGroup) -> Any:
        # Read once per row: the list shows two columns from the same lag.
        if not hasattr(obj, "_lag"):
            lag = None
            if redis_down() is None:
                with suppress(BusError):
                    lag = group_lag(obj.topic, obj.name)
            obj._lag = lag  # type: ignore[attr-defined]
        return obj._lag  # type: ignore[attr-defined]

    @admin.display(description="Backlog")
    def backlog(self, obj: ConsumerGroup) -> str:
        lag = self._lag(obj)
        return "?" if lag is None else unknown(lag.backlog)

    @admin.display(description="Time lag")
    def time_lag(self, obj: ConsumerGroup) -> str:
        lag = self._lag(obj)
        return "?" if lag is None else fmt_ms(lag.time_lag_ms)

    @admin.display(description="Dead letters")
    def dead_letters(self, obj: ConsumerGroup) -> str:
        if redis_down() is not None:
            return "?"
        try:
            counts = count_dead_letters(obj.topic, obj.name)
        except BusError:
            return "?"
        count = counts.get((obj.topic, obj.name), 0)
        if not count:
            return "0"
        url = reverse(
            "admin:eventbus_consumergroup_deadletters_group", args=[obj.topic, obj.name]
        )
        return format_html('<a href="{}">{}</a>', url, count)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        row = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if row is not None:
            extra["can_reset"] = self.has_reset_permission(request)
            extra["deadletters_url"] = reverse(
                "admin:eventbus_consumergroup_deadletters_group",
                args=[row.topic, row.name],
            )
        return super().change_view(request, object_id, form_url, extra)

    # --- reset ---------------------------------------------------------------

    @admin.action(description="Reset positions (dry run first)", permissions=["reset"])
    def reset_positions(self, request: HttpRequest, queryset: Any) -> Any:
        if queryset.count() != 1:
            messages.error(
                request,
                "Reset one group at a time: tick exactly one group, then choose "
                "the reset action again.",
            )
            return None
        url = reverse("admin:eventbus_consumergroup_reset", args=[queryset.get().pk])
        return redirect(url)

    def reset_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Show the reset form (GET), its dry run (preview) or apply a preview."""
        row = self.get_object(request, object_id)
        if row is None:
            raise Http404(f"No consumer group with id {object_id}.")
        if not self.has_reset_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return self._reset_page(request, row, {})
        if request.POST.get("action") == "apply":
            return self._apply(request, row)
        mode = request.POST.get("mode", "")
        value = request.POST.get("value", "")
        try:
            info = get_topic(row.topic)
            parts = partitions_from(request.POST, info.partitions)
            plan = plan_reset(
                row.topic, row.name, target_from(mode, value), partitions=parts
            )
        except (FormProblem, BusError) as exc:
            return self._reset_page(request, row, {"error": str(exc)}, status=400)
        return self._reset_page(
            request, row, preview_context(preview_token(plan, mode, value), plan)
        )

    def _reset_page(
        self,
        request: HttpRequest,
        row: ConsumerGroup,
        extra: dict[str, Any],
        status: int = 200,
    ) -> HttpResponse:
        try:
            partition_ids = list(get_topic(row.topic).partition_ids)
        except BusError:
            partition_ids = []
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": row,
            "title": f"Reset {row.name} on {row.topic}",
            "modes": MODES,
            "partition_ids": partition_ids,
            "form": request.POST if request.method == "POST" else {},
            **extra,
        }
        return TemplateResponse(
            request, "admin/console/group_reset.html", context, status=status
        )

    def _apply(self, request: HttpRequest, row: ConsumerGroup) -> HttpResponse:
        try:
            token = PreviewToken.loads(request.POST.get("token", ""))
            if (token.topic, token.group) != (row.topic, row.name):
                raise FormProblem(
                    f"This confirmation is for {token.topic} / {token.group}, not "
                    f"{row.topic} / {row.name}. Preview the reset of this group."
                )
            # Re-plan only to see where the group is now; the new positions
            # are the ones the preview showed.
            target = target_from(token.mode, token.value)
            plan = plan_reset(row.topic, row.name, target, partitions=token.partitions)
        except (FormProblem, BusError) as exc:
            return self._reset_page(request, row, {"error": str(exc)}, status=400)
        moved = moved_since(token, plan)
        if moved:
            why = (
                f"Positions moved since the preview ({moved}). Nothing was "
                "changed. Check the fresh plan and confirm again, or stop the "
                "group's workers first."
            )
            fresh = preview_token(plan, token.mode, token.value)
            return self._reset_page(
                request, row, preview_context(fresh, plan, why), status=409
            )
        try:
            applied = group_reset_apply(
                plan=as_previewed(plan, token), user=request.user, via="admin"
            )
        except BusError as exc:
            return self._reset_page(request, row, {"error": str(exc)}, status=400)
        messages.success(
            request,
            f"Reset {row.name} on {row.topic} {applied.target.describe()}: "
            f"{applied.to_deliver} event(s) will be delivered.",
        )
        for warning in applied.warnings:
            messages.warning(request, warning)
        return redirect(reverse("admin:eventbus_consumergroup_change", args=[row.pk]))
