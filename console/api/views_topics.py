"""Topics with their partitions and lengths; event types with every schema version."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from console.api.auth import Grants, grants_of
from console.api.base import READ, BusAPIView, problems
from console.api.serializers import (
    EventTypeListSerializer,
    EventTypeSerializer,
    TopicDetailSerializer,
    TopicListSerializer,
)
from console.exceptions import ScopeDenied
from eventbus import event_types, get_topic, list_topics
from eventbus.client import get_redis, redis_errors
from eventbus.keys import stream_key
from eventbus.schemas import EventType
from eventbus.streams import stream_state
from eventbus.topics import TopicInfo


def _topic_body(info: TopicInfo, lengths: list[int]) -> dict[str, Any]:
    return {
        "name": info.name,
        "partitions": info.partitions,
        "retention_ms": info.retention_ms,
        "retention_max_len": info.retention_max_len,
        "overflow_policy": str(info.overflow_policy),
        "description": info.description,
        "owner": info.owner,
        "length": sum(lengths),
    }


def _visible(grants: Grants, topic: str) -> None:
    if not grants.allows_any(topic):
        raise ScopeDenied(
            f"{grants.who} holds no scope on topic '{topic}'. Ask an admin for "
            f"a scope such as 'subscribe:{topic}'."
        )


class TopicListView(BusAPIView):
    @extend_schema(
        operation_id="topics_list",
        summary="List topics",
        description="The topics the caller holds any scope on, with partition "
        "count, retention and the number of events held.",
        responses={200: TopicListSerializer, **problems(401, 403, 503)},
        tags=["topics"],
    )
    def get(self, request: Request) -> Response:
        grants = grants_of(request)
        topics = [t for t in list_topics() if grants.allows_any(t.name)]
        client = get_redis()
        with redis_errors("read the topics' lengths"):
            pipe = client.pipeline(transaction=False)
            for info in topics:
                for p in info.partition_ids:
                    pipe.xlen(stream_key(info.name, p))
            lengths = iter(pipe.execute() if topics else [])
        body = [
            _topic_body(info, [int(next(lengths)) for _ in info.partition_ids])
            for info in topics
        ]
        return Response({"topics": body})


class TopicView(BusAPIView):
    @extend_schema(
        operation_id="topics_retrieve",
        summary="Show one topic and its partitions",
        description="Needs any scope on the topic.",
        responses={200: TopicDetailSerializer, **problems(*READ)},
        tags=["topics"],
    )
    def get(self, request: Request, topic: str) -> Response:
        _visible(grants_of(request), topic)
        info = get_topic(topic)
        client = get_redis()
        with redis_errors(f"read the state of topic '{info.name}'"):
            states = [stream_state(client, info.name, p) for p in info.partition_ids]
        body = _topic_body(info, [s.length for s in states])
        body["partition_stats"] = [
            {
                "partition": p,
                "length": state.length,
                "first_id": state.first_id if state.length else None,
                # last-generated-id: "0-0" until the first append.
                "last_id": state.last_id if state.last_id != "0-0" else None,
            }
            for p, state in enumerate(states)
        ]
        return Response(body)


def _type_body(versions: list[EventType]) -> dict[str, Any]:
    latest = max(versions, key=lambda v: v.version)
    return {
        "type": latest.type,
        "topic": latest.topic,
        "latest_version": latest.version,
        "versions": [
            {
                "version": v.version,
                "dataschema": v.dataschema,
                "description": v.description,
                "producer": v.producer,
                "schema": v.schema,
            }
            for v in sorted(versions, key=lambda v: v.version)
        ],
    }


def _grouped() -> dict[str, list[EventType]]:
    found: dict[str, list[EventType]] = {}
    for event_type in event_types(include_stored=True):
        found.setdefault(event_type.type, []).append(event_type)
    return found


class EventTypeListView(BusAPIView):
    @extend_schema(
        operation_id="event_types_list",
        summary="List event types and their schemas",
        description="Every version of every event type declared on a topic "
        "the caller holds any scope on.",
        responses={200: EventTypeListSerializer, **problems(401, 403)},
        tags=["event types"],
    )
    def get(self, request: Request) -> Response:
        grants = grants_of(request)
        body = [
            _type_body(versions)
            for name, versions in sorted(_grouped().items())
            if grants.allows_any(versions[0].topic)
        ]
        return Response({"event_types": body})


class EventTypeView(BusAPIView):
    @extend_schema(
        operation_id="event_types_retrieve",
        summary="Show one event type with every schema version",
        description="Needs any scope on the type's topic.",
        responses={200: EventTypeSerializer, **problems(401, 403, 404)},
        tags=["event types"],
    )
    def get(self, request: Request, type: str) -> Response:
        versions = _grouped().get(type)
        if not versions:
            raise exceptions.NotFound(
                f"No event type '{type}' is declared. List them with GET "
                "/api/v1/event-types."
            )
        _visible(grants_of(request), versions[0].topic)
        return Response(_type_body(versions))
