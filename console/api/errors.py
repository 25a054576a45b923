"""The bus API's errors as HTTP, in the one shape of config/problems.py.

Statuses: 400 malformed JSON, 401 no or bad token, 403 missing scope, 404
unknown topic/group/letter/type, 405, 409 stale reset, 413 oversized body
or batch, 422 invalid data (field errors name the path), 429 rate limited
(with Retry-After), 503 Redis unreachable.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from rest_framework import exceptions
from rest_framework.response import Response

from config.problems import drf_problem, problem
from console.exceptions import ScopeDenied
from eventbus.exceptions import (
    BatchError,
    BusError,
    BusUnavailable,
    ConfigurationError,
    DeadLetterNotFound,
    DurabilityError,
    EventError,
    GroupExists,
    InvalidCursor,
    InvalidEventType,
    InvalidGroupName,
    InvalidTopicName,
    NotSerializable,
    PositionNotFound,
    SchemaViolation,
    UnknownEventType,
    UnknownGroup,
    UnknownTopic,
)

logger = logging.getLogger(__name__)


class ProblemError(exceptions.APIException):
    """Raised by views to answer with a given status, type and field errors."""

    def __init__(
        self,
        status_code: int,
        type_: str,
        title: str,
        detail: str,
        errors: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.type = type_
        self.title = title
        self.errors = errors or {}


def invalid(title: str, field: str, message: str) -> ProblemError:
    """Return a 422 'invalid-request' problem that names the field at fault."""
    return ProblemError(422, "invalid-request", title, message, {field: [message]})


# Bus errors as (status, type, title, field named in errors or "").
# The most specific class in the exception's MRO wins.
_BUS: dict[type[BaseException], tuple[int, str, str, str]] = {
    BusUnavailable: (503, "bus-unavailable", "The event bus is unavailable", ""),
    # Raw client errors, should a bus call ever let one through unwrapped.
    redis.ConnectionError: (503, "bus-unavailable", "The event bus is unavailable", ""),
    redis.TimeoutError: (503, "bus-unavailable", "The event bus is unavailable", ""),
    DurabilityError: (503, "bus-unavailable", "The event bus is unavailable", ""),
    ConfigurationError: (503, "bus-unavailable", "The event bus is misconfigured", ""),
    UnknownTopic: (404, "not-found", "No such topic", ""),
    InvalidTopicName: (404, "not-found", "No such topic", ""),
    UnknownGroup: (404, "not-found", "No such consumer group", ""),
    InvalidGroupName: (404, "not-found", "No such consumer group", ""),
    DeadLetterNotFound: (404, "not-found", "No such dead letter", ""),
    GroupExists: (409, "conflict", "The group already exists", ""),
    PositionNotFound: (422, "invalid-request", "No event at that position", "value"),
    InvalidCursor: (422, "invalid-request", "The cursor cannot be used", "cursor"),
    UnknownEventType: (422, "invalid-event", "The event is not valid", "type"),
    InvalidEventType: (422, "invalid-event", "The event is not valid", "type"),
    SchemaViolation: (422, "invalid-event", "The event is not valid", "data"),
    NotSerializable: (422, "invalid-event", "The event is not valid", "data"),
    EventError: (422, "invalid-event", "The event is not valid", ""),
    ScopeDenied: (403, "forbidden", "Missing scope", ""),
    BusError: (422, "invalid-request", "The bus refused the request", ""),
}


def bus_problem(exc: BaseException) -> tuple[int, str, str, str] | None:
    """Return (status, type, title, field) for a bus or scope error, else None."""
    for cls in type(exc).__mro__:
        if cls in _BUS:
            return _BUS[cls]
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Render every error of the bus API in the one shape."""
    if isinstance(exc, ProblemError):
        return problem(
            exc.status_code, exc.type, exc.title, str(exc.detail), exc.errors
        )
    if isinstance(exc, BatchError):
        errors: dict[str, list[str]] = {}
        for index, error in exc.errors:
            errors.setdefault(f"events.{index}", []).append(str(error))
        return problem(422, "invalid-event", "The batch is not valid", str(exc), errors)
    found = bus_problem(exc)
    if found is not None:
        status, type_, title, field = found
        errors = {field: [str(exc)]} if field else {}
        headers = {"Retry-After": "5"} if status == 503 else {}
        if status == 503:
            logger.warning("Bus API request failed on Redis: %s", exc)
        return problem(status, type_, title, str(exc), errors, headers)
    return drf_problem(exc, invalid_status=422, flat=True)
