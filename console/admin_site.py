"""Django admin as the control plane, entered with a console role.

Every console role may enter (viewer, operator, admin). What each one sees
and may change there comes from the model permissions its group holds, which
console/role_perms.py grants after every migrate. The staff flag still lets
an account in, as in plain Django.
"""

from __future__ import annotations

from typing import Any

from django.contrib.admin import AdminSite
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from console.roles import Role, role_of


def may_enter(user: Any) -> bool:
    """Return whether ``user`` may use the admin site at all."""
    if user is None or not getattr(user, "is_active", False):
        return False
    return bool(user.is_staff) or role_of(user) >= Role.VIEWER


class RoleAuthenticationForm(AdminAuthenticationForm):
    """The admin login form, accepting console roles instead of staff only."""

    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter the correct %(username)s and password of an account "
            "with a console role (viewer, operator or admin). Ask an admin to "
            "add your account to one of those groups."
        ),
    }

    def confirm_login_allowed(self, user: Any) -> None:
        # Skip AdminAuthenticationForm's staff check; keep the inactive check.
        AuthenticationForm.confirm_login_allowed(self, user)
        if not may_enter(user):
            raise ValidationError(
                self.error_messages["invalid_login"],
                code="invalid_login",
                params={"username": self.username_field.verbose_name},
            )


class ConsoleAdminSite(AdminSite):
    """``admin.site``: role-aware entry, and dead letters listed with the bus."""

    site_header = "Switchyard control plane"
    site_title = "Switchyard"
    index_title = "Control plane"
    login_form = RoleAuthenticationForm

    def has_permission(self, request: HttpRequest) -> bool:
        return may_enter(request.user)

    def get_app_list(
        self, request: HttpRequest, app_label: str | None = None
    ) -> list[Any]:
        app_list = super().get_app_list(request, app_label)
        if not request.user.has_perm("eventbus.view_consumergroup"):
            return app_list
        try:
            url = reverse("admin:eventbus_consumergroup_deadletters")
        except NoReverseMatch:
            return app_list
        # Dead letters live in Redis and have no model: add their page by hand.
        for app in app_list:
            if app["app_label"] == "eventbus":
                app["models"].append(
                    {
                        "name": "Dead letters",
                        "object_name": "DeadLetter",
                        "perms": {"view": True},
                        "admin_url": url,
                        "add_url": None,
                        "view_only": True,
                    }
                )
                app["models"].sort(key=lambda model: model["name"])
        return app_list
