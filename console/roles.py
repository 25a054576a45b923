"""Console roles: Django groups named viewer, operator and admin.

- viewer: reads every page.
- operator: also publishes, resets positions, redrives and purges dead letters.
- admin: also changes topics, alert rules and users (through Django admin).

Each role includes the ones before it; a superuser is an admin. Roles are
checked on the server for every mutating request and socket message, not
only hidden in the page.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class Role(IntEnum):
    """What a user may do in the console, in increasing order of power."""

    NONE = 0
    VIEWER = 1
    OPERATOR = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()


# The Django group that grants each role (migration 0002 creates them).
GROUP_NAMES = {Role.VIEWER: "viewer", Role.OPERATOR: "operator", Role.ADMIN: "admin"}


def role_of(user: Any) -> Role:
    """Return the strongest console role the user holds."""
    if user is None or not getattr(user, "is_authenticated", False):
        return Role.NONE
    if not user.is_active:
        return Role.NONE
    if user.is_superuser:
        return Role.ADMIN
    names = set(user.groups.values_list("name", flat=True))
    held = [role for role, name in GROUP_NAMES.items() if name in names]
    return max(held, default=Role.NONE)


def can_view(user: Any) -> bool:
    return role_of(user) >= Role.VIEWER


def can_operate(user: Any) -> bool:
    return role_of(user) >= Role.OPERATOR


def can_administer(user: Any) -> bool:
    return role_of(user) >= Role.ADMIN
