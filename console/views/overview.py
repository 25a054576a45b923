"""The overview page: rates per topic, lag per group, dead letters, health."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.access import viewer_required


@viewer_required
def overview(request: HttpRequest) -> HttpResponse:
    """Render the overview; the live figures arrive over the console socket."""
    return render(request, "console/overview.html", {"page": "overview"})
