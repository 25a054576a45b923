"""Pages keep working when Redis is down: a banner and a 503, never a 500."""

from __future__ import annotations

from collections.abc import Callable

import redis
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from eventbus.exceptions import BusUnavailable


class BusDownMiddleware:
    """Render console/unavailable.html (503) when a view fails on Redis."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if not isinstance(
            exception, BusUnavailable | redis.ConnectionError | redis.TimeoutError
        ):
            return None
        context = {"problem": str(exception)}
        return render(request, "console/unavailable.html", context, status=503)
