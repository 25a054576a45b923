"""The consumer runtime: subscriptions run by consumer groups inside Celery workers.

Declare handlers with ``@subscribe`` in ``services/<name>/handlers.py``; run
them with ``celery -A config worker --bus-group <group>`` (or
``manage.py bus consume <group>``).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what the lazy names are, for type checkers
    from eventbus.consumer.runner import GroupConsumer
    from eventbus.consumer.subscriptions import (
        RetryPolicy,
        Subscription,
        subscribe,
        subscriptions,
    )

_WHERE = {
    "RetryPolicy": "eventbus.consumer.subscriptions",
    "Subscription": "eventbus.consumer.subscriptions",
    "subscribe": "eventbus.consumer.subscriptions",
    "subscriptions": "eventbus.consumer.subscriptions",
    "GroupConsumer": "eventbus.consumer.runner",
}
__all__ = ["GroupConsumer", "RetryPolicy", "Subscription", "subscribe", "subscriptions"]


def __getattr__(name: str) -> Any:
    # Lazy: config/celery.py imports this package before Django is set up.
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'eventbus.consumer' has no attribute {name!r}")
    return getattr(import_module(module), name)
