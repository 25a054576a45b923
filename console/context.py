"""Template context every console page gets: the user's role and the nav."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse

from console.health import redis_problem
from console.roles import Role, role_of

# (url name, label) in the order the navigation shows them.
NAV = [
    ("console:overview", "Overview"),
    ("console:topics", "Topics"),
    ("console:groups", "Consumer groups"),
    ("console:deadletters", "Dead letters"),
    ("console:services", "Services"),
    ("console:catalog", "Catalog"),
    ("console:alerts", "Alerts"),
    ("console:audit", "Audit log"),
]


def console(request: HttpRequest) -> dict[str, Any]:
    """Add ``console_role`` and ``can_operate``/``can_administer`` to templates."""
    user = getattr(request, "user", None)
    role = role_of(user)
    return {
        "console_role": role.label,
        "can_operate": role >= Role.OPERATOR,
        "can_administer": role >= Role.ADMIN,
        "console_nav": _nav() if role >= Role.VIEWER else [],
        "console_banners": _banners() if role >= Role.VIEWER else [],
        "console_alerts_firing": _alerts_firing() if role >= Role.VIEWER else [],
    }


def _alerts_firing() -> list[dict[str, Any]]:
    # One indexed query per page; the list is short (one alert per rule).
    from console.alerts import firing_summary

    return firing_summary()


def _banners() -> list[dict[str, str]]:
    problem = redis_problem()
    return [{"level": "error", "text": problem}] if problem else []


def _nav() -> list[tuple[str, str, str]]:
    # Pages are added one at a time; list the ones whose route exists.
    links = []
    for name, label in NAV:
        try:
            links.append((name, label, reverse(name)))
        except NoReverseMatch:
            continue
    return links
