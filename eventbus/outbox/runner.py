"""run_relay: the long-running relay loop behind ``manage.py bus relay``."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from django.db import DatabaseError, connections

from eventbus.exceptions import BusError
from eventbus.outbox.relay import relay_batch

logger = logging.getLogger("eventbus.outbox")

MAX_BACKOFF_SECONDS = 5.0
FIRST_BACKOFF_SECONDS = 0.25
PROGRESS_EVERY_SECONDS = 30.0


def run_relay(
    *,
    poll_interval: float = 0.2,
    stop: threading.Event | None = None,
    limit: int = 500,
    using: str = "default",
    timeout: float | None = None,
    until_idle: bool = False,
    handle_signals: bool = False,
) -> int:
    """Relay outbox rows until stopped; return how many were published.

    Relays batch after batch while there is work and sleeps ``poll_interval``
    when idle. Stops when ``stop`` is set, after ``timeout`` seconds, with
    ``until_idle`` once a batch finds nothing more to relay, and with
    ``handle_signals`` on SIGTERM/SIGINT. Redis or database failures are
    logged and retried with backoff.
    """
    stop = stop or threading.Event()
    if not handle_signals:
        # Off by default: inside a Celery task or a server, the host process
        # owns SIGTERM/SIGINT and must not have them swallowed.
        return _loop(stop, poll_interval, limit, using, timeout, until_idle)
    with _stop_on_signals(stop) as stop_event:
        return _loop(stop_event, poll_interval, limit, using, timeout, until_idle)


def _loop(
    stop: threading.Event,
    poll_interval: float,
    limit: int,
    using: str,
    timeout: float | None,
    until_idle: bool,
) -> int:
    deadline = None if timeout is None else time.monotonic() + timeout
    total = since_report = failures = 0
    reported_at = time.monotonic()
    logger.debug("Outbox relay started (database %r, batches of %d).", using, limit)
    while not stop.is_set() and not _past(deadline):
        try:
            result = relay_batch(limit=limit, using=using)
        except (BusError, DatabaseError) as exc:
            failures += 1
            delay = min(
                MAX_BACKOFF_SECONDS, FIRST_BACKOFF_SECONDS * 2 ** (failures - 1)
            )
            logger.warning("Outbox relay failed (retrying in %.2fs): %s", delay, exc)
            if isinstance(exc, DatabaseError):
                # The connection may be broken; Django opens a new one on use.
                connections[using].close()
            _wait(stop, delay, deadline)
            continue
        if failures:
            logger.info("Outbox relay resumed after %d failed attempt(s).", failures)
            failures = 0
        total += result.published
        since_report += result.published
        if since_report and time.monotonic() - reported_at >= PROGRESS_EVERY_SECONDS:
            logger.info("Outbox relay published %d event(s) recently.", since_report)
            since_report, reported_at = 0, time.monotonic()
        if result.more:
            continue
        if until_idle and result.leased:
            break
        # Idle, or another relay holds the lease: poll again shortly.
        _wait(stop, poll_interval, deadline)
    logger.debug("Outbox relay stopped after publishing %d event(s).", total)
    return total


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _wait(stop: threading.Event, seconds: float, deadline: float | None) -> None:
    if deadline is not None:
        seconds = min(seconds, max(0.0, deadline - time.monotonic()))
    stop.wait(seconds)


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[threading.Event]:
    """Set ``stop`` on SIGTERM/SIGINT while the loop runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield stop  # signal handlers can only be installed in the main thread
        return

    def handle(signum: int, frame: FrameType | None) -> None:
        logger.info("Outbox relay stopping (%s).", signal.Signals(signum).name)
        stop.set()

    previous = {
        sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
