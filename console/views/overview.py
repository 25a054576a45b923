"""The overview page: rates per topic, lag per group, dead letters, health."""

from __future__ import annotations

from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.access import viewer_required


@viewer_required
def overview(request: HttpRequest) -> HttpResponse:
    """Render the overview; the live figures arrive over the console socket."""
    context: dict[str, Any] = {"page": "overview", "alerts": [], "alerts_error": ""}
    try:
        context["alerts"] = _firing_alerts()
    except (DatabaseError, ImportError) as exc:
        # The rest of the page is live figures: it still renders.
        context["alerts_error"] = f"Could not read the alerts ({exc})."
    return render(request, "console/overview.html", context)


def _firing_alerts() -> list[Any]:
    from console.models import Alert  # the alerts page's model

    return list(Alert.objects.filter(state="firing").select_related("rule")[:20])
