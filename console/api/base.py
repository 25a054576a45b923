"""The base of every bus API view: auth, JSON with a size limit, errors, docs."""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from drf_spectacular.utils import OpenApiResponse
from rest_framework import exceptions, serializers
from rest_framework.parsers import JSONParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.problems import PayloadTooLarge, too_large_detail
from console.api.auth import (
    BearerTokenAuthentication,
    ConsoleSessionAuthentication,
    HasGrants,
)
from console.api.errors import ProblemError, api_exception_handler


class LimitedJSONParser(JSONParser):
    """JSON bodies up to ``DATA_UPLOAD_MAX_MEMORY_SIZE`` bytes, else 413.

    DRF reads the body from the raw stream, which bypasses Django's own
    limit (only ``request.body`` checks it), so the limit is enforced here
    too; ApiProblemMiddleware refuses a declared Content-Length earlier.
    """

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read(limit + 1) if limit is not None else stream.read()
        if limit is not None and len(raw) > limit:
            raise PayloadTooLarge(too_large_detail())
        return super().parse(io.BytesIO(raw), media_type, parser_context)


class BusAPIView(APIView):
    """A bus API endpoint: token or session auth, JSON, errors in one shape."""

    authentication_classes = [BearerTokenAuthentication, ConsoleSessionAuthentication]
    permission_classes = [HasGrants]
    parser_classes = [LimitedJSONParser]
    renderer_classes = [JSONRenderer]

    def get_exception_handler(self) -> Callable[..., Response | None]:
        return api_exception_handler

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> None:
        if request.authenticators and not request.successful_authenticator:
            raise exceptions.NotAuthenticated(
                "No credentials: send 'Authorization: Bearer sy_…' with an API "
                "token, or call from a logged-in console session."
            )
        super().permission_denied(request, message, code)


def validated(serializer_class: type[serializers.Serializer], data: Any) -> Any:
    """Return the serializer's validated data, or raise 422 naming the fields."""
    if not isinstance(data, dict):
        raise ProblemError(
            422,
            "invalid-request",
            "The request is not valid",
            f"The body must be a JSON object, got {type(data).__name__}.",
        )
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def query(serializer_class: type[serializers.Serializer], request: Request) -> Any:
    """Return the validated query parameters, or raise 422 naming them."""
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class ProblemSerializer(serializers.Serializer):
    """The one error shape of the API."""

    type = serializers.CharField(help_text="A stable slug, e.g. 'not-found'.")
    title = serializers.CharField()
    detail = serializers.CharField(help_text="What was wrong and what to do.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field path (e.g. 'events.2.data.amount') to messages; "
        "empty when no field is at fault.",
    )


_WHEN = {
    400: "The body is not valid JSON.",
    401: "No token, or a malformed, unknown, expired or revoked one.",
    403: "The token or role lacks the scope this needs on the topic.",
    404: "No such topic, group, dead letter or event type.",
    409: "The reset is stale: positions moved since the dry run.",
    413: "The body (or the batch) is too large.",
    422: "Invalid parameters or data; 'errors' names the fields.",
    429: "Publish rate limit reached; retry after the Retry-After seconds.",
    503: "Redis, behind the bus, is unreachable; try again shortly.",
}
READ = (401, 403, 404, 422, 503)
WRITE = (400, 401, 403, 404, 413, 422, 503)


def problems(*codes: int) -> dict[int, OpenApiResponse]:
    """Return the documented error responses with the given statuses."""
    return {
        code: OpenApiResponse(ProblemSerializer, description=_WHEN[code])
        for code in sorted(set(codes))
    }
