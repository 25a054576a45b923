"""Publish through the API: check every event first, charge the rate, write once.

Each event is prepared (schema-checked and encoded) by the bus without
writing; only when all are good, and the caller's rate limit has room for
all of them, are they appended in one atomic write. So a batch with one bad
event, or one over the limit, writes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from rest_framework import exceptions

from config.problems import PayloadTooLarge
from console.api.auth import Grants
from console.api.errors import ProblemError, bus_problem
from console.tokens import Scope
from eventbus import Published, get_event_type
from eventbus.exceptions import BusError, BusUnavailable, SchemaViolation
from eventbus.producer import Prepared, prepare, write
from eventbus.ratelimit import take


def _schema_errors(topic: str, fields: dict[str, Any], prefix: str) -> dict[str, Any]:
    """Return every schema error of the event's data, keyed by its path."""
    event_type = get_event_type(topic, fields["type"], fields.get("version"))
    errors: dict[str, list[str]] = {}
    for error in event_type.validator.iter_errors(fields["data"]):
        parts = ["data", *map(str, error.instance_path)]
        if type(error.kind).__name__ == "Required":
            # Reported at the object; name the missing field itself.
            parts.append(str(error.kind.property))
        path = ".".join(parts)
        errors.setdefault(f"{prefix}{path}", []).append(error.message)
    return errors


def _prepare_one(
    topic: str, fields: dict[str, Any], prefix: str
) -> tuple[Prepared | None, dict[str, list[str]]]:
    try:
        return prepare(
            topic,
            fields["type"],
            fields["data"],
            key=fields.get("key"),
            subject=fields.get("subject"),
            version=fields.get("version"),
            traceparent=fields.get("traceparent"),
            source=fields.get("source"),
            event_id=fields.get("id"),
        ), {}
    except BusUnavailable:
        raise
    except SchemaViolation as exc:
        return None, _schema_errors(topic, fields, prefix) or {
            f"{prefix}data": [str(exc)]
        }
    except BusError as exc:
        found = bus_problem(exc)
        field = found[3] if found and found[0] == 422 else ""
        if found and found[0] == 404:
            field = "topic"
        return None, {f"{prefix}{field or 'event'}": [str(exc)]}


def prepare_all(
    items: Sequence[tuple[str, dict[str, Any]]], *, batch: bool
) -> list[Prepared]:
    """Prepare every (topic, fields) event; raise 422 naming each bad one."""
    prepared: list[Prepared] = []
    errors: dict[str, list[str]] = {}
    for index, (topic, fields) in enumerate(items):
        prefix = f"events.{index}." if batch else ""
        item, found = _prepare_one(topic, fields, prefix)
        errors.update(found)
        if item is not None:
            prepared.append(item)
    if errors:
        what = (
            f"{len({k.split('.')[1] for k in errors})} event(s) of the batch are "
            "invalid, so none was published"
            if batch
            else "The event is invalid and was not published"
        )
        raise ProblemError(
            422,
            "invalid-event",
            "The event is not valid" if not batch else "The batch is not valid",
            f"{what}. Fix the fields listed in 'errors' and send it again.",
            errors,
        )
    return prepared


def charge(grants: Grants, count: int) -> None:
    """Take ``count`` events from the caller's publish bucket, or raise 413/429."""
    rate = grants.publish_rate
    try:
        wait = take(grants.rate_bucket, count, rate=rate, burst=2 * rate)
    except ValueError:
        raise PayloadTooLarge(
            f"{count} events exceed what {grants.who} may publish at once "
            f"({2 * rate}: twice its rate of {rate}/s). Split the batch."
        ) from None
    if wait:
        raise exceptions.Throttled(
            wait=math.ceil(wait),
            detail=f"{grants.who} may publish {rate} events/s (bursts of "
            f"{2 * rate}); {count} more would exceed it. Retry after "
            f"{math.ceil(wait)} s.",
        )


def publish_checked(
    grants: Grants, items: Sequence[tuple[str, dict[str, Any]]], *, batch: bool
) -> list[Published]:
    """Check scopes, validate all, charge the rate limit, then write all at once."""
    grants.require(Scope.PUBLISH, sorted({topic for topic, _ in items}))
    prepared = prepare_all(items, batch=batch)
    charge(grants, len(prepared))
    return write(prepared)


def published_body(published: Published) -> dict[str, Any]:
    """Render where a published event landed."""
    return {"id": published.event_id, "position": published.position.as_dict()}


def check_batch_size(events: Any, limit: int) -> None:
    """Raise 413 for a batch over ``limit`` events (before checking any)."""
    if isinstance(events, list) and len(events) > limit:
        raise PayloadTooLarge(
            f"The batch holds {len(events)} events; at most {limit} are "
            "accepted per request (API['MAX_BATCH']). Split it into smaller "
            "batches (each is atomic on its own)."
        )
