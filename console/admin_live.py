"""Live bus figures for admin pages: skipped quickly when Redis is down."""

from __future__ import annotations

from console.health import redis_problem


def redis_down() -> str | None:
    """Return why Redis cannot be read now, or None when it answers.

    The check is cached and has a short timeout, so a page with a figure per
    row does not wait for a connect timeout on every row while Redis is down.
    """
    return redis_problem()


def unknown(value: int | None) -> str:
    """Return a count, or '?' when it is unknown (never 0; DESIGN.md, Lag)."""
    return "?" if value is None else str(value)
