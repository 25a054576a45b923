"""A ModelAdmin base that audits changes made in the admin, deletes included."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from console.audit import audit_record


class AuditedAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Audit entries name the row the same way for every change made here.

    Subclasses say how a row is named in the log (``audit_target``), what of
    it is kept (``audit_snapshot``) and which action a delete is recorded as
    (``delete_action``, with ``delete_detail``).
    """

    delete_action = ""
    delete_detail: dict[str, Any] | None = None

    def audit_target(self, obj: Any) -> str:
        """Return how the audit log names ``obj``."""
        raise NotImplementedError(
            f"{type(self).__name__}.audit_target must return how the audit log "
            "names a row, e.g. 'topic orders'."
        )

    def audit_snapshot(self, obj: Any) -> dict[str, Any]:
        """Return ``obj``'s fields as the audit log keeps them (JSON-ready)."""
        raise NotImplementedError(
            f"{type(self).__name__}.audit_snapshot must return the row's audited "
            "fields as a JSON-ready dict."
        )

    def audit(
        self,
        request: HttpRequest,
        obj: Any,
        action: str,
        *,
        before: Any = None,
        after: Any = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Write one audit entry about ``obj``, made in the admin."""
        audit_record(
            user=request.user,
            action=action,
            target=self.audit_target(obj),
            before=before,
            after=after,
            detail=detail,
            via="admin",
        )

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        if not self.delete_action:
            raise NotImplementedError(
                f"{type(self).__name__} must set delete_action to audit deletes, "
                "or refuse them in has_delete_permission."
            )
        before = self.audit_snapshot(obj)
        detail = self.before_delete(request, obj)
        self.audit(request, obj, self.delete_action, before=before, detail=detail)
        super().delete_model(request, obj)

    def before_delete(self, request: HttpRequest, obj: Any) -> dict[str, Any] | None:
        """Do what must precede deleting ``obj``; return the audit entry's detail."""
        return self.delete_detail

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        # "Delete selected" skips delete_model; audit each row the same way.
        for obj in queryset:
            self.delete_model(request, obj)
