"""Which dead letters a redrive or purge form names: ids, a filter, or all."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

FILTER_FIELDS = ("type", "error_type", "text")


class SelectionProblem(ValueError):
    """The form named no letters, or named them unclearly; says what to do."""


def filters_from(data: QueryDict) -> dict[str, str]:
    """Return the non-empty filter fields (type, error_type, text) of a form."""
    return {
        name: data.get(name, "").strip()
        for name in FILTER_FIELDS
        if data.get(name, "").strip()
    }


def selection_from(data: QueryDict) -> tuple[str, dict[str, Any]]:
    """Return (scope, keyword arguments for redrive/purge) from a POSTed form."""
    scope = data.get("scope", "")
    if scope == "ids":
        ids = [i.strip() for i in data.getlist("ids") if i.strip()]
        if not ids:
            raise SelectionProblem(
                "No dead letter was ticked. Tick the letters to act on, or use "
                "'all matching the filter' or 'all'."
            )
        return scope, {"ids": ids}
    if scope == "filter":
        found = filters_from(data)
        if not found:
            raise SelectionProblem(
                "The filter is empty, so it matches nothing in particular. Enter "
                "an event type, error type or text first, or choose 'all'."
            )
        return scope, {
            "types": found.get("type"),
            "error_type": found.get("error_type"),
            "text": found.get("text"),
        }
    if scope == "all":
        return scope, {"all": True}
    raise SelectionProblem(
        "Say which dead letters to act on: the ticked ones, all matching the "
        "filter, or all."
    )


def describe(scope: str, kwargs: dict[str, Any]) -> str:
    """Return the selection for people, e.g. '3 selected letters'."""
    if scope == "ids":
        return f"{len(kwargs['ids'])} selected letter(s)"
    if scope == "filter":
        parts = [f"{k}={v!r}" for k, v in kwargs.items() if v]
        return "letters matching " + ", ".join(parts)
    return "all letters"
