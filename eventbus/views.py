"""HTTP views of the bus: the Prometheus endpoint."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from eventbus.metrics import BusCollector


def metrics(request: HttpRequest) -> HttpResponse:
    """Expose consumer counters and group members for Prometheus to scrape.

    With ``settings.METRICS_TOKEN`` set, a scrape must send it as a bearer
    token (Prometheus: ``authorization: {credentials: ...}``): the figures
    name hosts, process ids and groups.
    """
    expected = getattr(settings, "METRICS_TOKEN", "")
    if expected:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {expected}".encode()):
            response = HttpResponse(
                "Send the METRICS_TOKEN as 'Authorization: Bearer <token>' "
                "(Prometheus: authorization: {credentials: <token>}).\n",
                status=401,
                content_type="text/plain",
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BusCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
