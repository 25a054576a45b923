"""Switchyard's event bus: partitioned, durable topics on Redis Streams.

Import the public surface from here: ``from eventbus import publish``.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "Event",
    "Outgoing",
    "Position",
    "Published",
    "declare_topic",
    "get_topic",
    "publish",
    "publish_many",
    "publish_on_commit",
    "register_event_type",
]

_EXPORTS = {
    "Event": "eventbus.envelope",
    "Position": "eventbus.envelope",
    "Outgoing": "eventbus.producer",
    "Published": "eventbus.producer",
    "publish": "eventbus.producer",
    "publish_many": "eventbus.producer",
    "publish_on_commit": "eventbus.outbox",
    "declare_topic": "eventbus.topics",
    "get_topic": "eventbus.topics",
    "register_event_type": "eventbus.schemas",
}


def __getattr__(name: str) -> Any:
    # Lazy: importing eventbus must not import models before Django is set up.
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'eventbus' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(module), name)
