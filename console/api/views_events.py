"""Publish events (one, or a batch that is all-or-nothing) and read a topic's log."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from console.api.auth import grants_of
from console.api.base import READ, WRITE, BusAPIView, problems, query, validated
from console.api.errors import invalid
from console.api.publishing import check_batch_size, publish_checked, published_body
from console.api.serializers import (
    BatchPublishedSerializer,
    BatchSerializer,
    EventPageSerializer,
    PublishedSerializer,
    PublishSerializer,
    ReadQuerySerializer,
)
from console.tokens import Scope, api_setting
from console.topics_browse import to_stream_id
from eventbus import Event, get_topic, read_range

DEFAULT_LIMIT = 100


def event_body(event: Event) -> dict[str, Any]:
    """Render an event as its CloudEvent plus its position in the log."""
    body = event.to_dict()
    body["position"] = event.position.as_dict() if event.position else None
    return body


def _bound(value: str | None, name: str) -> str | None:
    if value is None:
        return None
    try:
        return to_stream_id(value, name)
    except ValueError as exc:
        raise invalid("The range is not valid", name, str(exc)) from None


class TopicEventsView(BusAPIView):
    """``/topics/{topic}/events``: read a range (GET) or publish one event (POST)."""

    @extend_schema(
        operation_id="events_read",
        summary="Read a range of a topic's events",
        description="Events of every (or the chosen) partition merged in time "
        "order, filtered, one page at a time; follow next_cursor until it is "
        "null. Reading never affects any consumer group. Needs 'subscribe'.",
        parameters=[ReadQuerySerializer],
        responses={200: EventPageSerializer, **problems(*READ)},
        tags=["events"],
    )
    def get(self, request: Request, topic: str) -> Response:
        grants_of(request).require(Scope.SUBSCRIBE, [topic])
        info = get_topic(topic)
        params = query(ReadQuerySerializer, request)
        page = read_range(
            info.name,
            start=_bound(params.get("start"), "start"),
            end=_bound(params.get("end"), "end"),
            partitions=params.get("partition") or None,
            types=params.get("type") or None,
            key=params.get("key"),
            subject=params.get("subject"),
            limit=params.get("limit", DEFAULT_LIMIT),
            cursor=params.get("cursor"),
            reverse=params.get("order") == "newest",
        )
        return Response(
            {
                "events": [event_body(e) for e in page.events],
                "next_cursor": page.next_cursor,
            }
        )

    @extend_schema(
        operation_id="events_publish",
        summary="Publish one event to a topic",
        description="The data is checked against the event type's JSON Schema "
        "(the latest version unless 'version' is given). Needs 'publish'; "
        "counts against the caller's publish rate limit.",
        request=PublishSerializer,
        responses={
            201: PublishedSerializer,
            **problems(*WRITE, 429),
        },
        tags=["events"],
    )
    def post(self, request: Request, topic: str) -> Response:
        grants = grants_of(request)
        grants.require(Scope.PUBLISH, [topic])
        info = get_topic(topic)
        fields = validated(PublishSerializer, request.data)
        (published,) = publish_checked(grants, [(info.name, fields)], batch=False)
        return Response(published_body(published), status=status.HTTP_201_CREATED)


class BatchView(BusAPIView):
    """``/batch``: publish many events at once, all or none."""

    @extend_schema(
        operation_id="events_publish_batch",
        summary="Publish a batch of events, all or none",
        description="Every event is validated first; if any is invalid the "
        "answer is 422 with errors per index ('events.2.data.amount') and "
        "nothing is written. Events may go to several topics; 'publish' is "
        "needed on each. The batch counts as its number of events against the "
        "publish rate limit.",
        request=BatchSerializer,
        responses={
            201: OpenApiResponse(BatchPublishedSerializer, "Every event published."),
            **problems(*WRITE, 429),
        },
        tags=["events"],
    )
    def post(self, request: Request) -> Response:
        grants = grants_of(request)
        if isinstance(request.data, dict):
            check_batch_size(request.data.get("events"), api_setting("MAX_BATCH"))
        data = validated(BatchSerializer, request.data)
        items = [(event.pop("topic"), event) for event in data["events"]]
        published = publish_checked(grants, items, batch=True)
        body = {
            "count": len(published),
            "published": [published_body(p) for p in published],
        }
        return Response(body, status=status.HTTP_201_CREATED)
