"""The event filters a socket request may carry: type patterns, key, subject."""

from __future__ import annotations

from typing import Any, NamedTuple


class Filters(NamedTuple):
    types: list[str] | None
    key: str | None
    subject: str | None


def parse_filters(
    message: dict[str, Any], label: str, error: type[ValueError]
) -> Filters:
    """Validate ``types``/``key``/``subject``; raise ``error`` naming ``label``."""
    types = message.get("types")
    if isinstance(types, str):
        types = [types]
    if types is not None and (
        not isinstance(types, list) or not all(isinstance(t, str) for t in types)
    ):
        raise error(
            f'{label}: "types" must be a list of patterns such as ["order.*"], or null.'
        )
    for name in ("key", "subject"):
        if message.get(name) is not None and not isinstance(message[name], str):
            raise error(f'{label}: "{name}" must be a string or null.')
    return Filters(
        types=[t for t in types if t] or None if types else None,
        key=message.get("key") or None,
        subject=message.get("subject") or None,
    )
