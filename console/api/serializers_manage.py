"""Bodies and parameters of the groups, reset and dead-letter endpoints."""

from __future__ import annotations

from rest_framework import serializers

from console.forms_groups import MODE_NAMES


class GroupsQuerySerializer(serializers.Serializer):
    topic = serializers.CharField(
        required=False, max_length=100, help_text="Only the groups of this topic."
    )


class GroupPartitionSerializer(serializers.Serializer):
    partition = serializers.IntegerField()
    exists = serializers.BooleanField(help_text="False: the group is lost here.")
    position = serializers.CharField(
        allow_null=True, help_text="Last delivered stream id."
    )
    consumers = serializers.IntegerField()
    pending = serializers.IntegerField(help_text="Delivered, not acknowledged.")
    undelivered = serializers.IntegerField(allow_null=True)
    backlog = serializers.IntegerField(
        allow_null=True, help_text="undelivered + pending; null when unknown."
    )
    time_lag_ms = serializers.IntegerField(
        allow_null=True, help_text="Age of the oldest unprocessed event."
    )
    note = serializers.CharField(allow_blank=True)


class GroupSerializer(serializers.Serializer):
    topic = serializers.CharField()
    name = serializers.CharField()
    registered = serializers.BooleanField()
    start = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    consumers = serializers.IntegerField()
    pending = serializers.IntegerField()
    undelivered = serializers.IntegerField(allow_null=True)
    backlog = serializers.IntegerField(allow_null=True)
    time_lag_ms = serializers.IntegerField(allow_null=True)
    partitions = GroupPartitionSerializer(many=True)


class GroupListSerializer(serializers.Serializer):
    groups = GroupSerializer(many=True)


class ResetSerializer(serializers.Serializer):
    """Where to move a group; a dry run unless ``dry_run`` is false."""

    mode = serializers.ChoiceField(
        choices=MODE_NAMES,
        help_text="earliest, latest, time (value: ISO time or ms), ago "
        "(value: 15m, 2h, P1D), id (value: stream id; one partition), shift "
        "(value: -N re-delivers, +N skips), group (value: another group).",
    )
    value = serializers.CharField(
        required=False, allow_blank=True, max_length=200, default=""
    )
    partitions = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=1023),
        required=False,
        allow_empty=False,
        help_text="Partitions to reset; all by default.",
    )
    dry_run = serializers.BooleanField(
        default=True, help_text="True (default): only preview; false: apply."
    )
    expected_fingerprint = serializers.CharField(
        required=False,
        max_length=64,
        help_text="The fingerprint a dry run returned: applying answers 409 "
        "and changes nothing if the positions moved since.",
    )


class PartitionResetSerializer(serializers.Serializer):
    partition = serializers.IntegerField()
    current_position = serializers.CharField(allow_null=True)
    new_position = serializers.CharField()
    to_deliver = serializers.IntegerField(
        help_text="Events after the new position: delivered after the reset."
    )
    current_backlog = serializers.IntegerField(allow_null=True)
    change = serializers.IntegerField(allow_null=True)
    pending = serializers.IntegerField(help_text="Pending entries acknowledged.")
    consumers = serializers.IntegerField()


class ResetPlanSerializer(serializers.Serializer):
    topic = serializers.CharField()
    group = serializers.CharField()
    target = serializers.CharField(help_text="The target in words.")
    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField()
    fingerprint = serializers.CharField(
        help_text="Digest of the current positions; send it back to apply."
    )
    to_deliver = serializers.IntegerField()
    partitions = PartitionResetSerializer(many=True)
    warnings = serializers.ListField(child=serializers.CharField())


class DeadLetterQuerySerializer(serializers.Serializer):
    type = serializers.ListField(
        child=serializers.CharField(max_length=200),
        required=False,
        help_text="Event type patterns (repeat for several).",
    )
    error_type = serializers.CharField(required=False, max_length=200)
    text = serializers.CharField(
        required=False, max_length=200, help_text="In the error or the event."
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=200)
    cursor = serializers.CharField(required=False, max_length=100)
    order = serializers.ChoiceField(
        choices=["newest", "oldest"], required=False, help_text="Default newest."
    )


class DeadLetterSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="Id in the dead-letter stream.")
    topic = serializers.CharField()
    group = serializers.CharField()
    partition = serializers.IntegerField(
        allow_null=True, help_text="Null when it failed again after a redrive."
    )
    stream_id = serializers.CharField(help_text="The event's original position.")
    event_type = serializers.CharField(allow_null=True)
    error_type = serializers.CharField(allow_blank=True)
    error_message = serializers.CharField(allow_blank=True)
    attempts = serializers.IntegerField()
    first_failure_ms = serializers.IntegerField()
    last_failure_ms = serializers.IntegerField()
    dead_at_ms = serializers.IntegerField()


class DeadLetterDetailSerializer(DeadLetterSerializer):
    traceback = serializers.CharField(allow_blank=True)
    event = serializers.JSONField(
        allow_null=True, help_text="The CloudEvent; null when it does not decode."
    )
    raw = serializers.CharField(
        allow_null=True, help_text="The stored bytes as text when not an event."
    )


class DeadLetterPageSerializer(serializers.Serializer):
    dead_letters = DeadLetterSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)
    total = serializers.IntegerField(help_text="Letters the group holds now.")


class RedriveSerializer(serializers.Serializer):
    """Name the letters one way: ids, filters (types/error_type/text), or all."""

    ids = serializers.ListField(
        child=serializers.CharField(max_length=40),
        required=False,
        allow_empty=False,
        max_length=1000,
    )
    types = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, allow_empty=False
    )
    error_type = serializers.CharField(required=False, max_length=200)
    text = serializers.CharField(required=False, max_length=200)
    all = serializers.BooleanField(default=False)
    dry_run = serializers.BooleanField(
        default=False, help_text="Only count what would be redriven."
    )


class RedriveResultSerializer(serializers.Serializer):
    redriven = serializers.IntegerField(
        help_text="Letters moved back to the group (would be, on a dry run)."
    )
    dry_run = serializers.BooleanField()
    remaining = serializers.IntegerField()
