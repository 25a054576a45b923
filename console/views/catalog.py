"""The catalog page: event types, schemas and versions; producers and consumers."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.access import viewer_required
from console.catalog_map import catalog_entries, map_layout


@viewer_required
def catalog(request: HttpRequest) -> HttpResponse:
    """Render the event catalog as a table and a producer → type → consumer map."""
    entries = catalog_entries()
    context = {"page": "catalog", "entries": entries, "map": map_layout(entries)}
    return render(request, "console/catalog.html", context)
