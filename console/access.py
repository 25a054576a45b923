"""View decorators that enforce console roles on the server.

An anonymous user is sent to the login page; a logged-in user without the
role gets a 403 page that says which role the action needs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.roles import Role, role_of

View = Callable[..., HttpResponse]


def refuse(request: HttpRequest, needed: Role) -> HttpResponse:
    """Render the 403 page naming the role the request needed."""
    context = {"needed": needed.label, "held": role_of(request.user).label}
    return render(request, "console/403.html", context, status=403)


def requires(needed: Role) -> Callable[[View], View]:
    """Let the view run only for users holding ``needed`` (or a stronger role)."""

    def decorate(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if role_of(request.user) < needed:
                return refuse(request, needed)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


viewer_required = requires(Role.VIEWER)
operator_required = requires(Role.OPERATOR)
admin_required = requires(Role.ADMIN)
