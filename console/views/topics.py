"""Topics pages: the list, a topic's detail and message browser, one event,
exports of a selection, and publishing a test event (operators only).
"""

from __future__ import annotations

import json
from typing import Any

import redis
from django.contrib import messages
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from console import topics_browse as browse
from console.access import refuse, viewer_required
from console.roles import Role, can_operate
from console.topics_browse import (
    PAGE_SIZES,
    export_csv,
    export_json,
    parse_query,
    preview,
    read_page,
    select,
)
from console.topics_publish import (
    PublishForm,
    initial_from,
    publish_test_event,
    schemas_of,
    types_of,
)
from console.topics_stats import ms_to_text, retention_text, summarize
from eventbus import Event, get_topic, list_topics, read_range
from eventbus.exceptions import BusUnavailable, EventError, ReadError, TopicError
from eventbus.streams import MAX_ID_PART, is_number, split_id
from eventbus.topics import TopicInfo

# What a section catches to show "Redis is down" in place, not a 500.
BUS_DOWN = (BusUnavailable, redis.ConnectionError, redis.TimeoutError)


def _topic(name: str) -> TopicInfo:
    try:
        return get_topic(name)
    except TopicError as exc:
        raise Http404(str(exc)) from exc


def _bus_problem(exc: Exception) -> str:
    return (
        f"Redis is not answering, so live figures are missing ({exc}). "
        "The page fills in again once Redis is back."
    )


@viewer_required
@require_GET
def topic_list(request: HttpRequest) -> HttpResponse:
    """List every topic with partitions, length, retention, rate and event times."""
    rows: list[dict[str, Any]] = []
    problem = None
    for info in sorted(list_topics(), key=lambda t: t.name):
        summary = None
        if problem is None:
            try:
                summary = summarize(info)
            except BUS_DOWN as exc:
                problem = _bus_problem(exc)  # don't wait on Redis once per topic
        rows.append(
            {"info": info, "summary": summary, "retention": retention_text(info)}
        )
    context = {"page": "topics", "rows": rows, "problem": problem}
    return render(request, "console/topics.html", context)


def _event_row(info: TopicInfo, event: Event) -> dict[str, Any]:
    position = event.position
    assert position is not None  # events read from the log carry their position
    return {
        "event": event,
        "partition": position.partition,
        "stream_id": position.stream_id,
        "appended": ms_to_text(position.ms),
        "href": reverse(
            "console:event", args=[info.name, position.partition, position.stream_id]
        ),
        "preview": preview(event.data),
    }


def _with(request: HttpRequest, **changes: str | None) -> str:
    """Return the request's query string with ``changes`` applied."""
    params = request.GET.copy()
    for name, value in changes.items():
        params.pop(name, None)
        if value is not None:
            params[name] = value
    return params.urlencode()


@viewer_required
@require_GET
def topic_detail(request: HttpRequest, name: str) -> HttpResponse:
    """Show a topic's partitions, the live tail slot and the message browser."""
    info = _topic(name)
    problem = None
    summary = None
    try:
        summary = summarize(info)
    except BUS_DOWN as exc:
        problem = _bus_problem(exc)
    query, errors = parse_query(info, request.GET)
    rows: list[dict[str, Any]] = []
    next_cursor = None
    if not errors and problem is None:
        try:
            page = read_page(info, query)
        except ReadError as exc:
            errors.append(str(exc))
        except BUS_DOWN as exc:
            problem = _bus_problem(exc)
        else:
            rows = [_event_row(info, e) for e in page.events]
            next_cursor = page.next_cursor
    base = reverse("console:topic", args=[info.name])
    context = {
        "page": "topic",
        "topic": info,
        "summary": summary,
        "problem": problem,
        "errors": errors,
        "query": query,
        "params": request.GET,
        "rows": rows,
        "type_names": sorted(types_of(info)),
        "partition_ids": list(info.partition_ids),
        "page_sizes": PAGE_SIZES,
        "next_href": f"{base}?{_with(request, cursor=next_cursor)}"
        if next_cursor
        else None,
        "first_href": f"{base}?{_with(request, cursor=None)}" if query.cursor else None,
        "export_query": _with(request, cursor=None),
        "export_limit": browse.EXPORT_LIMIT,
    }
    return render(request, "console/topic.html", context, status=400 if errors else 200)


def _read_event(info: TopicInfo, partition: int, stream_id: str) -> Event:
    """Return the event at a position, or raise Http404 saying why not."""
    parts = split_id(stream_id, seq_required=True)
    if parts is None or parts[1] == MAX_ID_PART:
        raise Http404(f"{stream_id!r} is not a stream id such as 1700000000000-0.")
    ms, seq = parts
    if partition not in info.partition_ids:
        raise Http404(f"Topic '{info.name}' has no partition {partition}.")
    page = read_range(
        info.name,
        start=stream_id,
        end=f"{ms}-{seq + 1}",  # end is exclusive: exactly this one id
        partitions=[partition],
        limit=1,
    )
    if not page.events:
        raise Http404(
            f"No event at {info.name} partition {partition} id {stream_id}: it "
            "was trimmed by retention, or the position is wrong."
        )
    return page.events[0]


@viewer_required
@require_GET
def event_view(
    request: HttpRequest, name: str, partition: int, stream_id: str
) -> HttpResponse:
    """Show one event: its position, its envelope and its data as pretty JSON."""
    info = _topic(name)
    event = _read_event(info, partition, stream_id)
    envelope = [(k, v) for k, v in event.to_dict().items() if k != "data"]
    context = {
        "page": "event",
        "topic": info,
        "event": event,
        "partition": partition,
        "stream_id": stream_id,
        "appended": ms_to_text(event.position.ms if event.position else None),
        "envelope": envelope,
        "pretty": json.dumps(event.data, indent=2, ensure_ascii=False),
        "raw": json.dumps(event.to_dict(), indent=2, ensure_ascii=False),
    }
    return render(request, "console/event.html", context)


@viewer_required
@require_GET
def topic_export(request: HttpRequest, name: str, fmt: str) -> HttpResponse:
    """Download the browser's selection as JSON or CSV (at most EXPORT_LIMIT)."""
    if fmt not in ("json", "csv"):
        raise Http404(f"Exports are .json or .csv, not .{fmt}.")
    info = _topic(name)
    query, errors = parse_query(info, request.GET)
    if errors:
        return HttpResponse(" ".join(errors), status=400, content_type="text/plain")
    try:
        selection = select(info, query)
    except ReadError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    response: HttpResponse | StreamingHttpResponse
    if fmt == "json":
        response = HttpResponse(
            export_json(info, query, selection, browse.EXPORT_LIMIT),
            content_type="application/json",
        )
    else:
        response = StreamingHttpResponse(
            export_csv(selection), content_type="text/csv; charset=utf-8"
        )
    response["Content-Disposition"] = f'attachment; filename="{info.name}.{fmt}"'
    response["X-Export-Count"] = str(len(selection.events))
    if selection.truncated:
        # CSV has no room for a note: the header says the export was cut.
        response["X-Export-Truncated"] = f"only {selection.reason} were exported"
    return response


@viewer_required
@require_http_methods(["GET", "POST"])
def topic_publish(request: HttpRequest, name: str) -> HttpResponse:
    """Show the publish form (anyone); publish from it (operators only)."""
    info = _topic(name)
    status = 200
    if request.method == "POST":
        if not can_operate(request.user):
            return refuse(request, Role.OPERATOR)
        form = PublishForm(request.POST, topic=info)
        if form.is_valid():
            try:
                published = publish_test_event(user=request.user, topic=info, form=form)
            except EventError as exc:
                form.add_error("data", str(exc))
            except BUS_DOWN as exc:
                form.add_error(None, f"Nothing was published: {exc}")
                status = 503
            else:
                position = published.position
                messages.success(
                    request,
                    f"Published {form.cleaned_data['type']} to partition "
                    f"{position.partition} at {position.stream_id}.",
                )
                return HttpResponseRedirect(
                    reverse(
                        "console:event",
                        args=[info.name, position.partition, position.stream_id],
                    )
                )
        status = status if status != 200 else 422
    else:
        form = PublishForm(topic=info, initial=_initial(request, info))
    context = {
        "page": "publish",
        "topic": info,
        "form": form,
        "schemas": schemas_of(info),
    }
    return render(request, "console/topic_publish.html", context, status=status)


def _initial(request: HttpRequest, info: TopicInfo) -> dict[str, Any]:
    """Prefill from ?reproduce=<partition>/<stream id>, or pick the first type."""
    source = request.GET.get("reproduce", "")
    partition, _, stream_id = source.partition("/")
    if is_number(partition) and stream_id:
        return initial_from(_read_event(info, int(partition), stream_id))
    return {"type": request.GET.get("type", "")}
