"""Preview, confirm and apply a group reset: one path for console, admin and API.

The front doors differ in how they ask (a signed preview, a dry run with a
fingerprint) and how they answer (a page, a redirect, JSON); what a reset
does to the bus and what the audit log keeps is decided here once.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from console.audit import audit_record
from console.forms_groups import PreviewToken, fingerprint
from eventbus import apply_reset

if TYPE_CHECKING:
    from eventbus.resets import ResetPlan


def positions_now(plan: ResetPlan) -> dict[int, str | None]:
    """Return each planned partition's current position."""
    return {p.partition: p.current_position for p in plan.partitions}


def preview_token(plan: ResetPlan, mode: str, value: str) -> PreviewToken:
    """Return the token a preview of ``plan`` hands its Confirm button."""
    return PreviewToken(
        topic=plan.topic,
        group=plan.group,
        mode=mode,
        value=value,
        partitions=[p.partition for p in plan.partitions],
        current=positions_now(plan),
        new={p.partition: p.new_position for p in plan.partitions},
    )


def preview_rows(plan: ResetPlan) -> list[dict[str, Any]]:
    """Return the preview table's rows, '?' where the backlog is unknown."""
    return [
        {
            "partition": part.partition,
            "current": part.current_position or "(missing)",
            "new": part.new_position,
            # Unknown, never 0 (DESIGN.md, Lag).
            "backlog": "?" if part.current_backlog is None else part.current_backlog,
            "to_deliver": part.to_deliver,
            "change": part.change,
            "pending": part.pending,
        }
        for part in plan.partitions
    ]


def preview_context(
    token: PreviewToken, plan: ResetPlan, stale: str = ""
) -> dict[str, Any]:
    """Return what a preview page shows: the plan, its rows and the token."""
    return {
        "plan": plan,
        "description": plan.target.describe(),
        "rows": preview_rows(plan),
        "token": token.dumps(),
        "fingerprint": token.fingerprint,
        "stale": stale,
    }


def moved_since(token: PreviewToken, plan: ResetPlan) -> str:
    """Return how positions moved since the preview ('' if they did not)."""
    now = positions_now(plan)
    if now == token.current:
        return ""
    moved = [p for p in sorted(now) if now[p] != token.current.get(p)]
    return (
        f"fingerprint {token.fingerprint} is now {fingerprint(now)}; "
        f"partition(s) {', '.join(map(str, moved))}"
    )


def as_previewed(plan: ResetPlan, token: PreviewToken) -> ResetPlan:
    """Return ``plan`` with the new positions the preview showed."""
    # A confirm applies what was shown, not a fresh resolution of the target
    # (e.g. 'latest' resolves further along a second later).
    planned = tuple(
        replace(part, new_position=token.new[part.partition])
        for part in plan.partitions
    )
    return replace(plan, partitions=planned)


def group_reset_apply(
    *, plan: ResetPlan, user: Any, via: str, caller: str | None = None
) -> ResetPlan:
    """Apply ``plan``, write its 'group.reset' audit entry, return it applied."""
    applied = apply_reset(plan)
    detail: dict[str, Any] = {
        "target": applied.target.describe(),
        "to_deliver": applied.to_deliver,
        "acknowledged_pending": sum(p.pending for p in applied.partitions),
        "warnings": list(applied.warnings),
    }
    if caller is not None:
        detail["caller"] = caller
    audit_record(
        user=user,
        action="group.reset",
        target=f"{applied.topic} / {applied.group}",
        before={str(p.partition): p.current_position for p in applied.partitions},
        after={str(p.partition): p.new_position for p in applied.partitions},
        detail=detail,
        via=via,
    )
    return applied
