"""Subscriptions: which handler a group runs for which events of which topic."""

from __future__ import annotations

import fnmatch
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from eventbus._targets import validate_group_name
from eventbus.envelope import Event
from eventbus.exceptions import SubscriptionError
from eventbus.topics import validate_topic_name

Handler = Callable[[Event], None]


@dataclass(frozen=True)
class RetryPolicy:
    """How a failing handler is retried before its event is dead-lettered.

    The delay before attempt n+1 is ``min(max_delay, initial * multiplier**(n-1))``
    with up to ``jitter`` of it added or removed at random, so many workers
    failing on one dependency do not retry in lockstep.
    """

    max_attempts: int = 5
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise SubscriptionError(
                f"RetryPolicy.max_attempts is {self.max_attempts}; it must be at "
                "least 1 (1 means: dead-letter on the first failure)."
            )
        if self.initial_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise SubscriptionError(
                "RetryPolicy delays must be >= 0 and the multiplier >= 1."
            )
        if not 0 <= self.jitter <= 1:
            raise SubscriptionError("RetryPolicy.jitter is a fraction from 0 to 1.")

    def delay(self, attempts: int) -> float:
        """Return the seconds to wait after ``attempts`` failed attempts."""
        base = min(
            self.max_delay, self.initial_delay * self.multiplier ** (attempts - 1)
        )
        spread = base * self.jitter
        return max(0.0, base + random.uniform(-spread, spread))


@dataclass(frozen=True)
class Subscription:
    """One handler of one group for some event types of one topic."""

    topic: str
    group: str
    handler: Handler
    types: tuple[str, ...] | None = None  # patterns like "order.*"; None: all
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    idempotent: bool = True  # record (group, event id) in the handler's transaction
    timeout: float = 30.0  # seconds before a running handler counts as failed
    start: str = "earliest"  # where a new group starts reading

    @property
    def name(self) -> str:
        handler = self.handler
        return f"{handler.__module__}.{getattr(handler, '__qualname__', handler)}"

    def matches(self, event_type: str) -> bool:
        if self.types is None:
            return True
        return any(fnmatch.fnmatchcase(event_type, pattern) for pattern in self.types)


class _Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: list[Subscription] = []

    def add(self, subscription: Subscription) -> None:
        with self._lock:
            for existing in self._subscriptions:
                if existing.name == subscription.name and (
                    existing.group,
                    existing.topic,
                ) == (subscription.group, subscription.topic):
                    return  # the module was imported twice
            self._subscriptions.append(subscription)

    def for_group(self, group: str) -> list[Subscription]:
        return [s for s in self._subscriptions if s.group == group]

    def all(self) -> list[Subscription]:
        return list(self._subscriptions)


_registry = _Registry()


def subscribe(
    topic: str,
    *,
    group: str,
    types: list[str] | tuple[str, ...] | None = None,
    retry: RetryPolicy | None = None,
    idempotent: bool = True,
    timeout: float = 30.0,
    start: str = "earliest",
) -> Callable[[Handler], Handler]:
    """Register the decorated function as ``group``'s handler for ``topic``.

    ``types`` are event-type patterns (``"order.*"``); events of other types
    are acked and counted as skipped. The handler gets an ``Event`` whose
    data matched its schema; it runs in a database transaction that also
    records the event as processed unless ``idempotent=False``.
    """
    validate_topic_name(topic)
    validate_group_name(group)
    if timeout <= 0:
        raise SubscriptionError(
            f"timeout must be a positive number of seconds, not {timeout}."
        )
    if start not in ("earliest", "latest"):
        raise SubscriptionError(
            f"start is {start!r}; a subscription's group starts at 'earliest' or "
            "'latest' (reset it afterwards with 'manage.py bus reset')."
        )

    def register(handler: Handler) -> Handler:
        _registry.add(
            Subscription(
                topic=topic,
                group=group,
                handler=handler,
                types=tuple(types) if types is not None else None,
                retry=retry or RetryPolicy(),
                idempotent=idempotent,
                timeout=timeout,
                start=start,
            )
        )
        return handler

    return register


def subscriptions(group: str | None = None) -> list[Subscription]:
    """Return the registered subscriptions, of one group or of all."""
    return _registry.for_group(group) if group else _registry.all()


def route(subs: list[Subscription], event_type: str) -> Subscription | None:
    """Return the first subscription of ``subs`` that takes ``event_type``."""
    for sub in subs:
        if sub.matches(event_type):
            return sub
    return None
