"""Consumer groups with their lag, and resetting a group's positions.

Listing groups needs 'subscribe' or 'manage' on the topic (lag is read-only
information a consumer's owner watches); a reset needs 'manage'. A reset is
a dry run unless ``dry_run`` is false; an applied reset is audited.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from console.api.auth import Grants, grants_of
from console.api.base import READ, WRITE, BusAPIView, problems, query, validated
from console.api.errors import ProblemError, invalid
from console.api.serializers_manage import (
    GroupListSerializer,
    GroupSerializer,
    GroupsQuerySerializer,
    ResetPlanSerializer,
    ResetSerializer,
)
from console.exceptions import ScopeDenied
from console.forms_groups import FormProblem, fingerprint, target_from
from console.group_ops import group_reset_apply, positions_now
from console.tokens import Scope
from eventbus import get_topic, list_groups, list_topics, plan_reset, topic_lag
from eventbus.exceptions import BusError, InvalidReset, UnknownGroup
from eventbus.groups import GroupInfo
from eventbus.lag import GroupLag

WATCH = (Scope.SUBSCRIBE, Scope.MANAGE)
INVALID = "The reset is not valid"


def _group_body(group: GroupInfo, lag: GroupLag | None) -> dict[str, Any]:
    lags = {p.partition: p for p in lag.partitions} if lag else {}
    parts = []
    for part in group.partitions:
        pl = lags.get(part.partition)
        parts.append(
            {
                "partition": part.partition,
                "exists": part.exists,
                "position": part.position,
                "consumers": part.consumers,
                "pending": part.pending,
                "undelivered": pl.undelivered if pl else None,
                "backlog": pl.backlog if pl else None,
                "time_lag_ms": pl.time_lag_ms if pl else None,
                "note": pl.note if pl else "",
            }
        )
    return {
        "topic": group.topic,
        "name": group.name,
        "registered": group.registered,
        "start": group.start,
        "created_at": group.created_at.isoformat() if group.created_at else None,
        "consumers": group.consumers,
        "pending": group.pending,
        "undelivered": lag.undelivered if lag else None,
        "backlog": lag.backlog if lag else None,
        "time_lag_ms": lag.time_lag_ms if lag else None,
        "partitions": parts,
    }


def topic_groups(topic: str) -> list[dict[str, Any]]:
    """Return every group of ``topic`` with its lag, by name."""
    lags = {lag.group: lag for lag in topic_lag(topic)}
    return [_group_body(g, lags.get(g.name)) for g in list_groups(topic)]


def _watch(grants: Grants, topic: str) -> None:
    if not grants.allows_any(topic, WATCH):
        raise ScopeDenied(
            f"{grants.who} needs 'subscribe' or 'manage' on topic '{topic}' to "
            f"see its groups. Ask an admin for a scope such as 'subscribe:{topic}'."
        )


class GroupListView(BusAPIView):
    @extend_schema(
        operation_id="groups_list",
        summary="List consumer groups with their lag",
        description="Groups of the topics the caller holds 'subscribe' or "
        "'manage' on (or of ?topic=, which then needs one of them), with lag "
        "per partition. Unknown lag is null, never 0.",
        parameters=[GroupsQuerySerializer],
        responses={200: GroupListSerializer, **problems(*READ)},
        tags=["groups"],
    )
    def get(self, request: Request) -> Response:
        grants = grants_of(request)
        wanted = query(GroupsQuerySerializer, request).get("topic")
        if wanted is not None:
            _watch(grants, wanted)
            names = [get_topic(wanted).name]
        else:
            names = [t.name for t in list_topics() if grants.allows_any(t.name, WATCH)]
        return Response({"groups": [g for n in names for g in topic_groups(n)]})


class GroupView(BusAPIView):
    @extend_schema(
        operation_id="groups_retrieve",
        summary="Show one consumer group with its lag",
        description="Needs 'subscribe' or 'manage' on the topic.",
        responses={200: GroupSerializer, **problems(*READ)},
        tags=["groups"],
    )
    def get(self, request: Request, topic: str, group: str) -> Response:
        _watch(grants_of(request), topic)
        get_topic(topic)
        for body in topic_groups(topic):
            if body["name"] == group:
                return Response(body)
        raise UnknownGroup(
            f"No consumer group '{group}' on topic '{topic}'. List them with "
            f"GET /api/v1/groups?topic={topic}."
        )


def _plan_body(plan: Any, dry_run: bool, digest: str) -> dict[str, Any]:
    return {
        "topic": plan.topic,
        "group": plan.group,
        "target": plan.target.describe(),
        "dry_run": dry_run,
        "applied": plan.applied,
        "fingerprint": digest,
        "to_deliver": plan.to_deliver,
        "partitions": [
            {
                "partition": p.partition,
                "current_position": p.current_position,
                "new_position": p.new_position,
                "to_deliver": p.to_deliver,
                "current_backlog": p.current_backlog,
                "change": p.change,
                "pending": p.pending,
                "consumers": p.consumers,
            }
            for p in plan.partitions
        ],
        "warnings": list(plan.warnings),
    }


class GroupResetView(BusAPIView):
    @extend_schema(
        operation_id="groups_reset",
        summary="Reset a group's positions (dry run by default)",
        description="With dry_run true (the default) nothing changes: the "
        "answer shows, per partition, the new position and how many events "
        "would be delivered after it. With dry_run false the reset is applied "
        "(acknowledging pending entries on those partitions) and audited; pass "
        "the dry run's fingerprint as expected_fingerprint to get 409 instead "
        "if the positions moved meanwhile. Stop the group's consumers first. "
        "Needs 'manage'.",
        request=ResetSerializer,
        responses={200: ResetPlanSerializer, **problems(*WRITE, 409)},
        tags=["groups"],
    )
    def post(self, request: Request, topic: str, group: str) -> Response:
        grants = grants_of(request)
        grants.require(Scope.MANAGE, [topic])
        get_topic(topic)
        data = validated(ResetSerializer, request.data)
        try:
            target = target_from(data["mode"], data["value"])
        except (FormProblem, BusError) as exc:  # a bad time, duration, id, name
            raise invalid(INVALID, "value", str(exc)) from None
        try:
            plan = plan_reset(topic, group, target, partitions=data.get("partitions"))
        except InvalidReset as exc:
            field = "partitions" if "partition" in str(exc) else "value"
            raise invalid(INVALID, field, str(exc)) from None
        current = fingerprint(positions_now(plan))
        if data["dry_run"]:
            return Response(_plan_body(plan, True, current))
        expected = data.get("expected_fingerprint")
        if expected is not None and expected != current:
            raise ProblemError(
                409,
                "reset-stale",
                "The positions moved since the dry run",
                f"The group's positions have fingerprint {current}, not "
                f"{expected}: they moved since the dry run, and nothing was "
                "changed. Run the dry run again, check it, and apply with its "
                "fingerprint (stop the group's consumers first).",
            )
        applied = group_reset_apply(
            plan=plan, user=request.user, via="api", caller=grants.who
        )
        return Response(_plan_body(applied, False, current))
