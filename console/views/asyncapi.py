"""The public AsyncAPI document of the bus (no login: it lists no events)."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from console.asyncapi import asyncapi_document


@require_GET
def asyncapi_json(request: HttpRequest) -> JsonResponse:
    """Serve the AsyncAPI document (public: it describes, it reveals no events)."""
    document = asyncapi_document(request.get_host(), request.is_secure())
    return JsonResponse(document, json_dumps_params={"indent": 2})
