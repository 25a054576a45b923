"""Admin helpers for services; the bus objects' admin lives in the console.

Topics, schemas, groups and the outbox are administered by
console/admin_*.py: the control plane audits every change that touches the
bus, the audit log is the console's, and eventbus must not import console
(DESIGN.md). ``ReadOnlyAdmin`` stays here for the services' own admins.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows that change only through actions (which also publish the events)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
