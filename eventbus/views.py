"""HTTP views of the bus: the Prometheus endpoint."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from eventbus.metrics import BusCollector


def metrics(request: HttpRequest) -> HttpResponse:
    """Expose consumer counters and group members for Prometheus to scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(BusCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
