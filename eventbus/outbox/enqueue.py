"""publish_on_commit: store the event in the caller's transaction, relay on commit."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.db import transaction

from eventbus.exceptions import BusError, BusUnavailable
from eventbus.models import OutboxEvent
from eventbus.producer import prepare

logger = logging.getLogger("eventbus.outbox")

# After Redis was unreachable from an on-commit relay, skip on-commit relays
# in this process for a while: each attempt would cost requests a connect
# timeout, and the relay process publishes the rows anyway.
UNAVAILABLE_PAUSE_SECONDS = 5.0

_paused_until: dict[str, float] = {}
_pause_lock = threading.Lock()


def publish_on_commit(
    topic: str,
    type: str,
    data: Any,
    *,
    key: str | None = None,
    subject: str | None = None,
    version: int | None = None,
    traceparent: str | None = None,
    using: str = "default",
) -> str:
    """Publish an event if and when the current transaction commits; return its id.

    The event is validated and encoded now (bad input raises here and writes
    nothing), stored in the outbox table in the caller's transaction, and
    appended to the log by the relay once that transaction has committed.
    """
    item = prepare(
        topic,
        type,
        data,
        key=key,
        subject=subject,
        version=version,
        traceparent=traceparent,
    )
    OutboxEvent.objects.using(using).create(
        event_id=item.event_id,
        topic=item.topic,
        partition=item.partition,
        payload=item.wire,
    )
    _schedule_relay(using)
    return item.event_id


class _RelayAfterCommit:
    """The on-commit hook: try one relay batch now, for low latency."""

    __slots__ = ("using",)

    def __init__(self, using: str) -> None:
        self.using = using

    def __call__(self) -> None:
        # Best effort only: the row is committed, so the relay process
        # publishes it if this fails. Never raise into the caller's commit.
        if time.monotonic() < _paused_until.get(self.using, 0.0):
            return
        from eventbus.outbox.relay import relay_pending

        try:
            relay_pending(using=self.using)
        except BusUnavailable as exc:
            with _pause_lock:
                _paused_until[self.using] = time.monotonic() + UNAVAILABLE_PAUSE_SECONDS
            logger.warning(
                "Could not relay outbox events after commit; the outbox relay "
                "(manage.py bus relay, or the beat task) will publish them: %s",
                exc,
            )
        except BusError as exc:
            logger.warning(
                "Could not relay outbox events after commit; the outbox relay "
                "will publish them: %s",
                exc,
            )
        except Exception:
            logger.exception(
                "Relaying outbox events after commit failed; the outbox relay "
                "(manage.py bus relay, or the beat task) will publish them."
            )


def _schedule_relay(using: str) -> None:
    connection = transaction.get_connection(using)
    if connection.in_atomic_block:
        # One hook per transaction is enough: it relays every row the
        # transaction wrote. A hook registered in a savepoint that rolls back
        # is dropped with it, and the next publish registers a new one.
        for _, func, *_rest in connection.run_on_commit:
            if isinstance(func, _RelayAfterCommit) and func.using == using:
                return
    transaction.on_commit(_RelayAfterCommit(using), using=using)
