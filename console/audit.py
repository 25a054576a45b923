"""Record mutating actions in the audit log (console, admin, API alike)."""

from __future__ import annotations

from typing import Any

from console.models import AuditEntry


def audit_record(
    *,
    user: Any,
    action: str,
    target: str,
    before: Any = None,
    after: Any = None,
    detail: dict[str, Any] | None = None,
    via: str = "console",
) -> AuditEntry:
    """Write one audit entry; ``before``/``after`` must be JSON-serialisable."""
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEntry.objects.create(
        user=user if authenticated else None,
        username=user.get_username() if authenticated else "",
        via=via,
        action=action,
        target=target,
        before=before,
        after=after,
        detail=detail or {},
    )
