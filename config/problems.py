"""One error shape for every JSON API: ``{"type", "title", "detail", "errors"}``.

``type`` is a short stable slug clients can switch on ("not-found"),
``title`` says it for people, ``detail`` says what was wrong and what to do,
``errors`` maps field paths to messages (empty when no field is at fault).
Used by the shop API (services/checkout/api.py) and the bus API
(console/api/); neutral ground, so that services need not import console.

``ApiProblemMiddleware`` keeps the shape for what never reaches a DRF view
under ``/api/``: unknown URLs, oversized bodies, and crashes (a JSON 500,
never Django's HTML page).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import redis
from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response

from eventbus.exceptions import BusUnavailable

logger = logging.getLogger("django.request")

API_PREFIX = "/api/"

# DRF's exceptions as (type, title); the status is the exception's own.
DRF_PROBLEMS: dict[type[exceptions.APIException], tuple[str, str]] = {
    exceptions.ValidationError: ("invalid-request", "The request is not valid"),
    exceptions.ParseError: ("malformed-body", "The body is not valid JSON"),
    exceptions.UnsupportedMediaType: (
        "unsupported-media-type",
        "Send the body as application/json",
    ),
    exceptions.NotFound: ("not-found", "Not found"),
    exceptions.MethodNotAllowed: ("method-not-allowed", "Method not allowed"),
    exceptions.NotAcceptable: ("not-acceptable", "Ask for application/json"),
    exceptions.NotAuthenticated: ("unauthenticated", "Authentication required"),
    exceptions.AuthenticationFailed: ("unauthenticated", "Authentication failed"),
    exceptions.PermissionDenied: ("forbidden", "Not allowed"),
    exceptions.Throttled: ("rate-limited", "Too many requests"),
}


class PayloadTooLarge(exceptions.APIException):
    """A request body above ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (or a batch limit)."""

    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


DRF_PROBLEMS[PayloadTooLarge] = ("payload-too-large", "The request is too large")


def problem_body(
    type_: str, title: str, detail: str, errors: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Return the error shape as a dict."""
    return {"type": type_, "title": title, "detail": detail, "errors": errors or {}}


def problem(
    status_code: int,
    type_: str,
    title: str,
    detail: str,
    errors: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Return the error shape as a DRF response."""
    body = problem_body(type_, title, detail, errors)
    return Response(body, status=status_code, headers=dict(headers or {}))


def too_large_detail() -> str:
    """Say how large a body may be and what to do about a larger one."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return (
        f"The request body is larger than {limit} bytes "
        "(DATA_UPLOAD_MAX_MEMORY_SIZE). Send fewer or smaller events per request."
    )


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Return DRF's nested error detail as ``{"a.0.b": [messages]}``."""
    if isinstance(detail, Mapping):
        flat: dict[str, list[str]] = {}
        for name, inner in detail.items():
            path = f"{prefix}.{name}" if prefix else str(name)
            for key, messages in flatten_errors(inner, path).items():
                flat.setdefault(key, []).extend(messages)
        return flat
    if isinstance(detail, list) and any(isinstance(i, Mapping | list) for i in detail):
        flat = {}
        for index, inner in enumerate(detail):
            if inner:  # DRF reports valid list items as {} or []
                path = f"{prefix}.{index}" if prefix else str(index)
                for key, messages in flatten_errors(inner, path).items():
                    flat.setdefault(key, []).extend(messages)
        return flat
    messages = detail if isinstance(detail, list) else [detail]
    return {prefix or "non_field_errors": [str(m) for m in messages]}


def _texts(detail: Any) -> list[str]:
    if isinstance(detail, Mapping):
        return [text for item in detail.values() for text in _texts(item)]
    if isinstance(detail, list):
        return [text for item in detail for text in _texts(item)]
    return [str(detail)]


def drf_problem(
    exc: Exception, *, invalid_status: int = 400, flat: bool = False
) -> Response | None:
    """Render Django's and DRF's exceptions in the shape; None for anything else.

    ``invalid_status`` is the status of a ``ValidationError`` (the shop says
    400, the bus API 422); ``flat`` turns nested field errors into paths.
    """
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge(too_large_detail())
    if isinstance(exc, exceptions.ValidationError):
        type_, title = DRF_PROBLEMS[exceptions.ValidationError]
        nested = exc.detail if isinstance(exc.detail, dict) else {}
        errors = flatten_errors(nested) if flat and nested else nested
        detail = "Fix the fields listed in 'errors' and send the request again."
        if not nested:
            detail = " ".join(_texts(exc.detail))
        return problem(invalid_status, type_, title, detail, errors)
    if isinstance(exc, exceptions.APIException):
        type_, title = DRF_PROBLEMS.get(type(exc), ("error", "Request refused"))
        detail = str(exc.detail)
        if isinstance(exc, exceptions.ParseError):
            detail = f"{detail} Send a JSON object as the body."
        headers = {}
        if getattr(exc, "auth_header", None):  # set by APIView on 401s
            headers["WWW-Authenticate"] = str(exc.auth_header)  # type: ignore[attr-defined]
        if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
            headers["Retry-After"] = str(max(int(-(-exc.wait // 1)), 1))
        return problem(exc.status_code, type_, title, detail, headers=headers)
    return None


# Statuses Django itself may answer under /api/, as (type, title, detail).
_DJANGO_STATUSES = {
    400: ("bad-request", "Bad request", "The request could not be understood."),
    403: ("forbidden", "Not allowed", "This request is not allowed."),
    404: (
        "not-found",
        "Not found",
        "There is nothing at this URL. The API's paths are listed at /api/docs/.",
    ),
    405: ("method-not-allowed", "Method not allowed", "Use another HTTP method."),
}


def problem_json(
    status_code: int,
    type_: str,
    title: str,
    detail: str,
    errors: Mapping[str, Any] | None = None,
) -> JsonResponse:
    """Return the error shape as a plain Django response (outside DRF views)."""
    body = problem_body(type_, title, detail, errors)
    return JsonResponse(body, status=status_code)


class ApiProblemMiddleware:
    """Keep the error shape under /api/ for what DRF views do not answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        if _declared_length(request) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            # Refused before anything reads it: Django would answer 400.
            return problem_json(
                413, "payload-too-large", "The request is too large", too_large_detail()
            )
        response = self.get_response(request)
        if response.status_code >= 400 and not _is_json(response):
            return _reshaped(response)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if not request.path.startswith(API_PREFIX):
            return None
        if isinstance(exception, RequestDataTooBig):
            return problem_json(
                413, "payload-too-large", "The request is too large", too_large_detail()
            )
        if isinstance(
            exception, BusUnavailable | redis.ConnectionError | redis.TimeoutError
        ):
            response = problem_json(
                503, "bus-unavailable", "The event bus is unavailable", str(exception)
            )
            response["Retry-After"] = "5"
            return response
        logger.exception("Internal Server Error: %s", request.path)
        return problem_json(
            500,
            "server-error",
            "Server error",
            "The server failed to answer this request; the error is logged. "
            "Try again, and tell the operators if it persists.",
        )


def _declared_length(request: HttpRequest) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def _is_json(response: HttpResponse) -> bool:
    return str(response.get("Content-Type", "")).startswith("application/json")


def _reshaped(response: HttpResponse) -> HttpResponse:
    code = response.status_code
    type_, title, detail = _DJANGO_STATUSES.get(
        code, ("server-error" if code >= 500 else "error", "Request failed", "")
    )
    reshaped = problem_json(code, type_, title, detail or f"HTTP {code}.")
    for header in ("Allow", "Retry-After", "WWW-Authenticate"):
        if header in response:
            reshaped[header] = response[header]
    return reshaped
