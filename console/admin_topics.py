"""Django admin for topics and the outbox; every topic change is audited.

Topics are edited here (partitions grow, never shrink: Topic.clean refuses a
decrease with the reason). The change page shows each partition's live
length and every group's lag, read-only, and says so when Redis is down.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from console.admin_audit import AuditedAdmin
from console.admin_live import redis_down, unknown
from console.topics_stats import id_time
from console.views.groups import fmt_ms
from eventbus import topic_lag
from eventbus.admin import ReadOnlyAdmin
from eventbus.client import get_redis, redis_errors
from eventbus.exceptions import BusError
from eventbus.models import OutboxEvent, Topic
from eventbus.streams import stream_state
from eventbus.topics import drop_topic_data

TOPIC_FIELDS = (
    "name",
    "partitions",
    "retention_ms",
    "retention_max_len",
    "overflow_policy",
    "description",
    "owner",
)


def topic_snapshot(topic: Topic) -> dict[str, Any]:
    """Return a topic's editable fields as a JSON-ready dict (for the audit)."""
    return {name: getattr(topic, name) for name in TOPIC_FIELDS}


def _partition_rows(topic: Topic) -> SafeString:
    client = get_redis()
    with redis_errors(f"read the partitions of '{topic.name}'"):
        states = [stream_state(client, topic.name, p) for p in range(topic.partitions)]
    return format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (p, state.length, id_time(state.first_id), id_time(state.last_id))
            for p, state in enumerate(states)
        ),
    )


def _group_rows(topic: Topic) -> SafeString:
    return format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (lag.group, unknown(lag.backlog), lag.pending, fmt_ms(lag.time_lag_ms))
            for lag in topic_lag(topic.name)
        ),
    )


@admin.register(Topic)
class TopicAdmin(AuditedAdmin):
    list_display = (
        "name",
        "partitions",
        "retention_ms",
        "retention_max_len",
        "overflow_policy",
        "owner",
        "updated_at",
    )
    list_filter = ("overflow_policy", "owner")
    search_fields = ("name", "description", "owner")
    delete_action = "topic.delete"

    def audit_target(self, obj: Topic) -> str:
        return f"topic {obj.name}"

    def audit_snapshot(self, obj: Topic) -> dict[str, Any]:
        return topic_snapshot(obj)

    def before_delete(self, request: HttpRequest, obj: Topic) -> dict[str, Any]:
        # The data goes first: if Redis does not answer, the row stays and the
        # delete can be tried again, rather than orphaning the streams (whose
        # events would reappear in a new topic of the same name).
        return {"redis_keys_deleted": drop_topic_data(obj.name, obj.partitions)}

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        # The confirmation page lists what goes: say that the events go too.
        deleted = [
            *deleted,
            *(
                f"every event, group position and dead letter of {o.name} in Redis"
                for o in objs
            ),
        ]
        return deleted, model_count, perms_needed, protected

    def get_readonly_fields(
        self, request: HttpRequest, obj: Topic | None = None
    ) -> Any:
        # Renaming a topic would orphan its streams; partitions only grow
        # (enforced in Topic.clean, which the admin form calls).
        if obj is None:
            return ("created_at", "updated_at")
        return ("name", "created_at", "updated_at", "live_figures")

    @admin.display(description="Live figures")
    def live_figures(self, obj: Topic) -> str:
        problem = redis_down()
        if problem:
            return format_html('<p class="errornote">{}</p>', problem)
        try:
            partitions = _partition_rows(obj)
            groups = _group_rows(obj)
        except BusError as exc:
            return format_html('<p class="errornote">{}</p>', str(exc))
        return format_html(
            '<table id="partition-figures"><thead><tr><th>Partition</th>'
            "<th>Events</th><th>Oldest</th><th>Newest</th></tr></thead>"
            "<tbody>{}</tbody></table>"
            '<table id="group-figures"><thead><tr><th>Group</th><th>Backlog</th>'
            "<th>Pending</th><th>Time lag</th></tr></thead><tbody>{}</tbody></table>",
            partitions,
            groups or format_html('<tr><td colspan="4">{}</td></tr>', "No groups."),
        )

    def save_model(
        self, request: HttpRequest, obj: Topic, form: Any, change: bool
    ) -> None:
        before = topic_snapshot(Topic.objects.get(pk=obj.pk)) if change else None
        super().save_model(request, obj, form, change)
        after = topic_snapshot(obj)
        detail: dict[str, Any] = {"op": "update" if change else "create"}
        if before is not None and after["partitions"] > before["partitions"]:
            detail["partitions_grown"] = [before["partitions"], after["partitions"]]
            messages.warning(
                request,
                f"Topic {obj.name} grew from {before['partitions']} to "
                f"{after['partitions']} partitions: keys map to the new count from "
                "now on, so per-key order holds within each partition count. "
                "Groups are created on the new partitions as their workers reach "
                "them.",
            )
        action = "topic.change" if change else "topic.create"
        self.audit(request, obj, action, before=before, after=after, detail=detail)


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyAdmin):
    """Rows the relay publishes; they change only through publish_on_commit."""

    list_display = (
        "event_id",
        "topic",
        "partition",
        "created_at",
        "published_at",
        "stream_id",
    )
    list_filter = ("topic", ("published_at", admin.EmptyFieldListFilter))
    search_fields = ("event_id",)
    exclude = ("payload",)
