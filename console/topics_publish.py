"""Publish a test event from the console: the form, its checks and the action.

The form validates the data against the chosen event type's JSON Schema
before anything is written, so an invalid event is shown next to its field
and never reaches the log. Every publish is recorded in the audit log.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms

from console.audit import audit_record
from eventbus import Event, Published, event_types, get_event_type, publish
from eventbus.exceptions import EventError, UnknownEventType
from eventbus.schemas import EventType
from eventbus.streams import is_number
from eventbus.topics import TopicInfo


def types_of(info: TopicInfo) -> dict[str, list[EventType]]:
    """Return the event types declared on a topic, each with its versions."""
    found: dict[str, list[EventType]] = {}
    for event_type in event_types(include_stored=True):
        if event_type.topic == info.name:
            found.setdefault(event_type.type, []).append(event_type)
    return found


def schemas_of(info: TopicInfo) -> dict[str, dict[str, Any]]:
    """Return {type: {version: schema}} for the page's schema panel."""
    return {
        name: {str(v.version): v.schema for v in versions}
        for name, versions in types_of(info).items()
    }


class PublishForm(forms.Form):
    """A test event for one topic: type, optional version, key, subject, data."""

    type = forms.ChoiceField(label="Event type")
    version = forms.IntegerField(
        required=False,
        min_value=1,
        help_text="Schema version; leave empty for the latest.",
    )
    key = forms.CharField(
        required=False,
        max_length=200,
        help_text="Partition key: events with the same key keep their order.",
    )
    subject = forms.CharField(required=False, max_length=200)
    data = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false"}),
        help_text="JSON, checked against the event type's schema.",
    )
    # "<partition>/<stream id>" of the event this one reproduces, if any.
    reproduces = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, topic: TopicInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.topic = topic
        names = sorted(types_of(topic))
        self.fields["type"].choices = [(n, n) for n in names]
        self.event_type: EventType | None = None

    def clean_data(self) -> Any:
        raw = self.cleaned_data["data"]
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                f"This is not valid JSON: {exc.msg} at line {exc.lineno}, column "
                f"{exc.colno}. Use double quotes around keys and strings."
            ) from exc

    def clean_key(self) -> str | None:
        return self.cleaned_data["key"] or None

    def clean_subject(self) -> str | None:
        return self.cleaned_data["subject"] or None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        name = cleaned.get("type")
        if not name or "version" not in cleaned:
            return cleaned
        try:
            self.event_type = get_event_type(
                self.topic.name, name, cleaned.get("version")
            )
        except UnknownEventType as exc:
            self.add_error("version" if cleaned.get("version") else "type", str(exc))
            return cleaned
        if "data" in cleaned:
            try:
                self.event_type.validate(cleaned["data"])
            except EventError as exc:
                self.add_error("data", str(exc))
        return cleaned


def initial_from(event: Event) -> dict[str, Any]:
    """Return the form's initial values that reproduce ``event`` (new id and time)."""
    version = None
    if event.dataschema:
        tail = event.dataschema.rpartition(":")[2]
        version = int(tail) if is_number(tail) else None
    position = event.position
    return {
        "type": event.type,
        "version": version,
        "key": event.partitionkey or "",
        "subject": event.subject or "",
        "data": json.dumps(event.data, indent=2, ensure_ascii=False),
        "reproduces": f"{position.partition}/{position.stream_id}" if position else "",
    }


def publish_test_event(*, user: Any, topic: TopicInfo, form: PublishForm) -> Published:
    """Publish the form's event and record it in the audit log."""
    values = form.cleaned_data
    published = publish(
        topic.name,
        values["type"],
        values["data"],
        key=values["key"],
        subject=values["subject"],
        version=values.get("version"),
    )
    detail: dict[str, Any] = {"event_id": published.event_id}
    if values["key"] is not None:
        detail["key"] = values["key"]
    if values["subject"] is not None:
        detail["subject"] = values["subject"]
    if values.get("reproduces"):
        detail["reproduces"] = values["reproduces"]
    audit_record(
        user=user,
        action="event.publish",
        target=f"topic {topic.name}",
        after={
            "partition": published.position.partition,
            "id": published.position.stream_id,
            "type": values["type"],
        },
        detail=detail,
    )
    return published
