"""A group's dead letters: list (paged, filtered), show one, redrive. Needs 'manage'."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response

from console.api.auth import grants_of
from console.api.base import READ, WRITE, BusAPIView, problems, query, validated
from console.api.serializers_manage import (
    DeadLetterDetailSerializer,
    DeadLetterPageSerializer,
    DeadLetterQuerySerializer,
    RedriveResultSerializer,
    RedriveSerializer,
)
from console.deadletter_ops import letters_redrive
from console.tokens import Scope
from eventbus import (
    DeadLetter,
    count_dead_letters,
    get_dead_letter,
    get_topic,
    list_dead_letters,
    list_groups,
    redrive,
)
from eventbus.exceptions import InvalidDeadLetterQuery, UnknownGroup

DEFAULT_LIMIT = 50


def letter_body(letter: DeadLetter) -> dict[str, Any]:
    """Render a dead letter's summary."""
    return {
        "id": letter.dlq_id,
        "topic": letter.topic,
        "group": letter.group,
        "partition": letter.partition,
        "stream_id": letter.stream_id,
        "event_type": letter.event_type,
        "error_type": letter.error_type,
        "error_message": letter.error_message,
        "attempts": letter.attempts,
        "first_failure_ms": letter.first_failure_ms,
        "last_failure_ms": letter.last_failure_ms,
        "dead_at_ms": letter.dead_at_ms,
    }


def _letter_detail(letter: DeadLetter) -> dict[str, Any]:
    body = letter_body(letter)
    body["traceback"] = letter.traceback
    try:
        body["event"], body["raw"] = letter.event.to_dict(), None
    except Exception:
        # A poison event may be poison because it does not decode.
        body["event"] = None
        body["raw"] = letter.wire.decode("utf-8", "replace")
    return body


def _held(topic: str, group: str) -> int:
    """Return the letters ``group`` holds; 404 for a group that never existed."""
    get_topic(topic)
    held = count_dead_letters(topic, group).get((topic, group))
    # Letters of a deleted group stay listed (and redrivable) until purged.
    if held is None and group not in {g.name for g in list_groups(topic)}:
        raise UnknownGroup(
            f"No consumer group '{group}' on topic '{topic}', and no dead letters "
            f"for one. List the groups with GET /api/v1/groups?topic={topic}."
        )
    return held or 0


class DeadLetterListView(BusAPIView):
    @extend_schema(
        operation_id="dead_letters_list",
        summary="List a group's dead letters",
        description="Newest first by default, filtered, one page at a time: "
        "follow next_cursor until it is null. Needs 'manage'.",
        parameters=[DeadLetterQuerySerializer],
        responses={200: DeadLetterPageSerializer, **problems(*READ)},
        tags=["dead letters"],
    )
    def get(self, request: Request, topic: str, group: str) -> Response:
        grants_of(request).require(Scope.MANAGE, [topic])
        total = _held(topic, group)
        params = query(DeadLetterQuerySerializer, request)
        page = list_dead_letters(
            topic,
            group,
            types=params.get("type") or None,
            error_type=params.get("error_type"),
            text=params.get("text"),
            limit=params.get("limit", DEFAULT_LIMIT),
            cursor=params.get("cursor"),
            reverse=params.get("order", "newest") == "newest",
        )
        return Response(
            {
                "dead_letters": [letter_body(x) for x in page.items],
                "next_cursor": page.next_cursor,
                "total": total,
            }
        )


class DeadLetterView(BusAPIView):
    @extend_schema(
        operation_id="dead_letters_retrieve",
        summary="Show one dead letter",
        description="The error, its full traceback, attempts and the event. "
        "Needs 'manage'.",
        responses={200: DeadLetterDetailSerializer, **problems(*READ)},
        tags=["dead letters"],
    )
    def get(self, request: Request, topic: str, group: str, dlq_id: str) -> Response:
        grants_of(request).require(Scope.MANAGE, [topic])
        get_topic(topic)
        try:
            letter = get_dead_letter(topic, group, dlq_id)
        except InvalidDeadLetterQuery as exc:  # not an id: nothing is there
            raise exceptions.NotFound(str(exc)) from None
        return Response(_letter_detail(letter))


class RedriveView(BusAPIView):
    @extend_schema(
        operation_id="dead_letters_redrive",
        summary="Redrive dead letters to their group",
        description="Name the letters in exactly one way: 'ids', filters "
        "('types', 'error_type', 'text') or 'all': true. They go back to this "
        "group only, oldest first; ids no longer present are skipped. Audited "
        "unless dry_run. Needs 'manage'.",
        request=RedriveSerializer,
        responses={200: RedriveResultSerializer, **problems(*WRITE)},
        tags=["dead letters"],
    )
    def post(self, request: Request, topic: str, group: str) -> Response:
        grants = grants_of(request)
        grants.require(Scope.MANAGE, [topic])
        before = _held(topic, group)
        data = validated(RedriveSerializer, request.data)
        chosen = {
            "ids": data.get("ids"),
            "types": data.get("types"),
            "error_type": data.get("error_type"),
            "text": data.get("text"),
            "all": data["all"],
        }
        if data["dry_run"]:
            moved, after = redrive(topic, group, dry_run=True, **chosen), before
        else:
            done = letters_redrive(
                topic=topic,
                group=group,
                chosen=chosen,
                user=request.user,
                via="api",
                caller=grants.who,
            )
            moved, after = done.done, done.after
        return Response(
            {"redriven": moved, "dry_run": data["dry_run"], "remaining": after}
        )
