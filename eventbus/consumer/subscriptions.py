"""Subscriptions: which handler a group runs for which events of which topic."""

from __future__ import annotations

import fnmatch
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

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


def group_spec(value: str) -> tuple[str, str]:
    """Return ``(group, handlers)`` of a ``--bus-group`` value: ``G`` or ``NEW=G``.

    ``analytics-replay=analytics`` runs analytics' handlers as the consumer
    group ``analytics-replay``.
    """
    group, sep, handlers = value.strip().partition("=")
    group, handlers = group.strip(), handlers.strip()
    if sep and not (group and handlers):
        raise SubscriptionError(
            f"--bus-group {value!r}: write NEW=HANDLERS, e.g. "
            "analytics-replay=analytics (run analytics' handlers as the group "
            "analytics-replay), or just a group name."
        )
    validate_group_name(group)
    return group, validate_group_name(handlers) if sep else group


def handlers_for(group: str, handlers: str | None = None) -> list[Subscription]:
    """Return what ``group`` runs: the subscriptions of ``handlers`` (or its own).

    Borrowed subscriptions are rebound to ``group``, so their idempotency
    records, positions and dead letters are ``group``'s, not the owner's.
    """
    validate_group_name(group)
    owner = validate_group_name(handlers) if handlers else group
    subs = subscriptions(owner)
    if not subs:
        known = sorted({sub.group for sub in subscriptions()})
        raise SubscriptionError(
            f"No handlers subscribe for group '{owner}' (groups with handlers: "
            f"{', '.join(known) or 'none'}). Declare them with @subscribe(topic, "
            "group=...) in a services/<name>/handlers.py module, or name one of "
            "those groups."
        )
    return [replace(sub, group=group) for sub in subs] if owner != group else subs


def where_created(
    group: str, handlers: str, subs: list[Subscription]
) -> list[Subscription]:
    """Keep the borrowed subscriptions on topics where ``group`` was created.

    A group running another group's handlers (a replay) is created by an
    operator on the topics to replay, with a start and an end. On the
    handlers' other topics it must not appear by itself at their start
    policy (usually earliest): that would replay all of them, unbounded.
    """
    from eventbus.models import ConsumerGroup  # the model needs the app registry

    topics = sorted({sub.topic for sub in subs})
    created = set(
        ConsumerGroup.objects.filter(name=group, topic__in=topics).values_list(
            "topic", flat=True
        )
    )
    if not created:
        raise SubscriptionError(
            f"Group '{group}' exists on none of the topics that '{handlers}' "
            f"handles ({', '.join(topics)}). Create it first, e.g. manage.py bus "
            f"groups create {topics[0]} {group} --from TIME --until TIME."
        )
    skipped = sorted(set(topics) - created)
    if skipped:
        logging.getLogger("eventbus.consumer").info(
            "Group %r runs %r's handlers on %s only (not created on %s).",
            group,
            handlers,
            ", ".join(sorted(created)),
            ", ".join(skipped),
        )
    return [sub for sub in subs if sub.topic in created]
