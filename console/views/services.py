"""The services page: each service's Celery workers, bus members and counters."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.access import viewer_required
from console.service_status import services_status


@viewer_required
def services(request: HttpRequest) -> HttpResponse:
    """Render every service with its workers, partitions and handler figures."""
    context = {"page": "services", "status": services_status()}
    return render(request, "console/services.html", context)
