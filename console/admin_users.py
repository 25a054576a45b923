"""Django admin for users and groups: the admin role manages accounts, not power.

An admin-role user holds the user and group permissions
(console/role_perms.py). In plain Django that would let them tick
"superuser" on their own account, grant any permission to themselves or to a
group, or reset a superuser's password. Here those stay with superusers:
superuser accounts are read-only to everyone else, and so are the
"superuser", "user permissions" and group "permissions" fields. Roles are
given by adding an account to the viewer, operator or admin group.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest

User = get_user_model()


class ConsoleUserAdmin(UserAdmin):  # type: ignore[type-arg]
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        if request.user.is_superuser:
            return fields
        return (*fields, "is_superuser", "user_permissions")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if _guarded(request, obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if _guarded(request, obj):
            return False
        return super().has_delete_permission(request, obj)


class ConsoleGroupAdmin(GroupAdmin):  # type: ignore[type-arg]
    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser else (*fields, "permissions")


def _guarded(request: HttpRequest, obj: Any) -> bool:
    return bool(obj is not None and obj.is_superuser and not request.user.is_superuser)


for model, model_admin in ((User, ConsoleUserAdmin), (Group, ConsoleGroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
