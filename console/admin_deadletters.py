"""Dead letters in Django admin: inspect, redrive and purge, audited.

Dead letters live in Redis and have no model, so these pages hang off the
consumer-group admin (console/admin_groups.py) as extra URLs. Letters are
named per topic and group, not per ConsumerGroup row: a group deleted or
created in Redis only may still hold letters. The selection forms, the
letter rows and the audited redrive and purge are the console's
(console/forms_deadletters.py, console/deadletter_ops.py).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode

from console.admin_live import redis_down
from console.deadletter_ops import (
    LetterPage,
    holding_groups,
    letter_context,
    letters_page,
    letters_purge,
    letters_redrive,
    purge_prompt,
)
from console.forms_deadletters import (
    SelectionProblem,
    describe,
    filters_from,
    selection_from,
)
from eventbus import get_dead_letter
from eventbus import purge as purge_letters
from eventbus.exceptions import BusError, DeadLetterNotFound

REDRIVE = "eventbus.redrive_deadletters"
PURGE = "eventbus.purge_deadletters"


class DeadLetterViews:
    """Mixin for the ConsumerGroup ModelAdmin: the dead-letter pages."""

    # Provided by ModelAdmin, which this is mixed into.
    admin_site: Any
    opts: Any
    has_view_permission: Any

    def deadletter_urls(self) -> list[URLPattern]:
        """Return the dead-letter URLs (before ModelAdmin's catch-all ones)."""
        wrap = self.admin_site.admin_view
        base = "eventbus_consumergroup_deadletter"
        where = "deadletters/<str:topic>/<str:group>/"
        return [
            path("deadletters/", wrap(self.deadletters_view), name=f"{base}s"),
            path(where, wrap(self.deadletters_group_view), name=f"{base}s_group"),
            path(f"{where}redrive/", wrap(self.redrive_view), name=f"{base}_redrive"),
            path(f"{where}purge/", wrap(self.purge_view), name=f"{base}_purge"),
            path(
                f"{where}letter/<str:dlq_id>/",
                wrap(self.deadletter_view),
                name=f"{base}_letter",
            ),
        ]

    def _context(
        self, request: HttpRequest, title: str, **extra: Any
    ) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": title,
            "can_redrive": request.user.has_perm(REDRIVE),
            "can_purge": request.user.has_perm(PURGE),
            **extra,
        }

    def _viewer(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    def deadletters_view(self, request: HttpRequest) -> HttpResponse:
        """List every group holding a dead-letter stream, with its count."""
        self._viewer(request)
        rows: list[dict[str, Any]] = []
        problem = redis_down()
        if problem is None:
            try:
                rows = holding_groups()
            except BusError as exc:
                problem = str(exc)
        context = self._context(request, "Dead letters", rows=rows, problem=problem)
        return TemplateResponse(request, "admin/console/deadletters.html", context)

    def deadletters_group_view(
        self, request: HttpRequest, topic: str, group: str
    ) -> HttpResponse:
        """List one group's letters, newest first, filtered and paged."""
        self._viewer(request)
        found = filters_from(request.GET)
        cursor = request.GET.get("cursor") or None
        problem = redis_down()
        page = LetterPage([], 0, None)
        if problem is None:
            try:
                page = letters_page(topic, group, found, cursor)
            except BusError as exc:
                problem = str(exc)
        context = self._context(
            request,
            f"Dead letters of {group} on {topic}",
            topic=topic,
            group=group,
            letters=page.rows,
            total=page.total,
            filters=found,
            next_url=page.next_url,
            problem=problem,
        )
        return TemplateResponse(
            request, "admin/console/deadletters_group.html", context
        )

    def deadletter_view(
        self, request: HttpRequest, topic: str, group: str, dlq_id: str
    ) -> HttpResponse:
        """Show one letter: error, full traceback, payload, attempts."""
        self._viewer(request)
        try:
            letter = get_dead_letter(topic, group, dlq_id)
        except DeadLetterNotFound as exc:
            raise Http404(str(exc)) from exc
        except BusError as exc:
            messages.error(request, str(exc))
            return self._back(request, topic, group)
        context = self._context(
            request,
            f"Dead letter {dlq_id}",
            topic=topic,
            group=group,
            **letter_context(letter),
        )
        return TemplateResponse(request, "admin/console/deadletter.html", context)

    def _back(self, request: HttpRequest, topic: str, group: str) -> HttpResponse:
        url = reverse(
            "admin:eventbus_consumergroup_deadletters_group", args=[topic, group]
        )
        found = filters_from(request.POST)
        return redirect(url + ("?" + urlencode(found) if found else ""))

    def redrive_view(
        self, request: HttpRequest, topic: str, group: str
    ) -> HttpResponse:
        """Send the chosen letters back to this group only (POST), and audit it."""
        if request.method != "POST" or not request.user.has_perm(REDRIVE):
            raise PermissionDenied
        try:
            scope, chosen = selection_from(request.POST)
            moved = letters_redrive(
                topic=topic,
                group=group,
                chosen=chosen,
                user=request.user,
                via="admin",
                scope=scope,
            ).done
        except (SelectionProblem, BusError) as exc:
            messages.error(request, str(exc))
            return self._back(request, topic, group)
        messages.success(
            request,
            f"Redrove {moved} of {describe(scope, chosen)} to group {group}; its "
            "workers process them from the group's redrive stream.",
        )
        return self._back(request, topic, group)

    def purge_view(self, request: HttpRequest, topic: str, group: str) -> HttpResponse:
        """Confirm (typed group name), then delete the chosen letters; audit it."""
        if request.method != "POST" or not request.user.has_perm(PURGE):
            raise PermissionDenied
        try:
            scope, chosen = selection_from(request.POST)
            would = purge_letters(topic, group, dry_run=True, **chosen)
        except (SelectionProblem, BusError) as exc:
            messages.error(request, str(exc))
            return self._back(request, topic, group)
        prompt = purge_prompt(request.POST, group, scope, chosen, would)
        if prompt is not None:
            asked, status = prompt
            title = f"Purge dead letters of {group} on {topic}"
            context = self._context(request, title, topic=topic, group=group, **asked)
            return TemplateResponse(
                request, "admin/console/deadletter_purge.html", context, status=status
            )
        try:
            removed = letters_purge(
                topic=topic,
                group=group,
                chosen=chosen,
                user=request.user,
                via="admin",
                scope=scope,
            ).done
        except BusError as exc:
            messages.error(request, str(exc))
            return self._back(request, topic, group)
        messages.success(request, f"Purged {removed} dead letter(s) of group {group}.")
        return self._back(request, topic, group)
