"""The audit log: every mutating console action, newest first, filtered, paged."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from console.access import viewer_required
from console.models import AuditEntry

PAGE_SIZE = 50


@viewer_required
def audit(request: HttpRequest) -> HttpResponse:
    """List audit entries; filter by action, user and target."""
    action = request.GET.get("action", "").strip()
    user = request.GET.get("user", "").strip()
    target = request.GET.get("target", "").strip()
    entries = AuditEntry.objects.all()
    if action:
        entries = entries.filter(action=action)
    if user:
        entries = entries.filter(username__icontains=user)
    if target:
        entries = entries.filter(target__icontains=target)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {
        k: v for k, v in (("action", action), ("user", user), ("target", target)) if v
    }
    actions = (
        AuditEntry.objects.order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
    context = {
        "page": "audit",
        "entries": page,
        "filters": filters,
        "query": urlencode(filters),
        "actions": list(actions),
        "action": action,
        "user_filter": user,
        "target": target,
    }
    return render(request, "console/audit.html", context)
