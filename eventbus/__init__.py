"""Switchyard's event bus: partitioned, durable topics on Redis Streams.

Import the public surface from here: ``from eventbus import publish``.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "eventbus.envelope": ["Event", "Position"],
    "eventbus.producer": ["Outgoing", "Published", "publish", "publish_many"],
    "eventbus.outbox": ["publish_on_commit"],
    "eventbus.topics": ["declare_topic", "get_topic", "list_topics"],
    "eventbus.schemas": [
        "register_event_type",
        "get_event_type",
        "event_types",
        "load_stored_event_types",
    ],
    "eventbus.groups": [
        "create_group",
        "delete_group",
        "ensure_group",
        "list_groups",
        "record_positions",
        "with_group_repair",
    ],
    "eventbus.lag": ["group_lag", "topic_lag"],
    "eventbus.replays": ["group_until", "range_progress", "set_group_until"],
    "eventbus.resets": ["ResetTarget", "apply_reset", "plan_reset", "reset_group"],
    "eventbus.reading": ["read_range", "tail"],
    "eventbus.retention": ["plan_trim", "trim", "trim_all"],
    "eventbus.deadletters": [
        "DeadLetter",
        "count_dead_letters",
        "get_dead_letter",
        "list_dead_letters",
        "purge",
        "redrive",
    ],
    "eventbus.consumer.subscriptions": ["RetryPolicy", "subscribe"],
    "eventbus.ownership": ["partition_owners"],
    "eventbus.metrics": ["source_stats"],
    "eventbus.remote": ["FeedClient", "RemoteEvent"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    # Lazy: importing eventbus must not import models before Django is set up.
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'eventbus' has no attribute {name!r}")
    return getattr(import_module(module), name)
