"""RFC 7386 JSON merge patches between two snapshots: what changed, compactly.

A snapshot never holds ``None`` (an unknown figure is left out), because in
a merge patch a null means "delete this key"; the browser shows a missing
figure as unknown, never as 0.
"""

from __future__ import annotations

from typing import Any


def strip_none(value: Any) -> Any:
    """Return ``value`` with every ``None`` dict value left out, recursively."""
    if isinstance(value, dict):
        return {k: strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_none(v) for v in value]
    return value


def merge_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Return the merge patch that turns ``old`` into ``new`` (empty: no change)."""
    patch: dict[str, Any] = {key: None for key in old.keys() - new.keys()}
    for key, value in new.items():
        if key not in old:
            patch[key] = value
            continue
        before = old[key]
        if isinstance(value, dict) and isinstance(before, dict):
            sub = merge_diff(before, value)
            if sub:
                patch[key] = sub
        elif value != before or type(value) is not type(before):
            patch[key] = value
    return patch


def merge_apply(target: Any, patch: Any) -> Any:
    """Apply a merge patch to ``target`` as RFC 7386 says (returns a new value)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_apply(result.get(key), value)
    return result
