"""Running one handler: idempotency record, transaction, timeout watchdog."""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from eventbus.consumer.subscriptions import Subscription
from eventbus.envelope import Event
from eventbus.exceptions import HandlerTimeout
from eventbus.models import ProcessedEvent


class Watchdog:
    """Raise ``HandlerTimeout`` in a thread whose handler runs past its deadline.

    One watchdog thread serves one consumer thread. The exception is
    delivered at the handler's next Python bytecode (PyThreadState_SetAsyncExc),
    so a handler blocked inside a C call (a socket read without a timeout)
    is interrupted when that call returns: give clients their own timeouts.
    Arming is one attribute write (atomic in CPython), cheap enough for
    every event; a deadline that passes just as the handler returns can
    still fire, and the runtime then treats that event as failed (retried).
    """

    def __init__(self, tick: float = 0.05) -> None:
        self._armed: tuple[int, float] | None = None
        self._tick = tick
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="bus-watchdog", daemon=True
        )
        self._thread.start()

    def arm(self, seconds: float) -> None:
        self._armed = (threading.get_ident(), time.monotonic() + seconds)

    def disarm(self) -> None:
        self._armed = None

    def close(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self._tick):
            armed = self._armed
            if armed is None or time.monotonic() < armed[1]:
                continue
            if self._armed is not armed:
                continue  # disarmed (or re-armed for the next event) meanwhile
            self._armed = None
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(armed[0]), ctypes.py_object(HandlerTimeout)
            )


def already_processed(group: str, event_ids: Iterable[str]) -> set[str]:
    """Return which of ``event_ids`` the group has a processed record for."""
    ids = list(event_ids)
    if not ids:
        return set()
    return set(
        ProcessedEvent.objects.filter(group=group, event_id__in=ids).values_list(
            "event_id", flat=True
        )
    )


def run_handler(sub: Subscription, event: Event, watchdog: Watchdog) -> bool:
    """Run ``sub``'s handler for ``event``; return False if it was a duplicate.

    Raises whatever the handler raised (or ``HandlerTimeout``). With
    idempotency on, the handler and the processed record commit together,
    so a re-delivery after a crash between commit and XACK is recognised.
    """
    watchdog.arm(sub.timeout)
    try:
        if not sub.idempotent:
            sub.handler(event)
            return True
        try:
            with transaction.atomic():
                ProcessedEvent.objects.create(group=sub.group, event_id=event.id)
                sub.handler(event)
        except IntegrityError:
            # Another owner (one whose lease lapsed mid-batch) committed it.
            if ProcessedEvent.objects.filter(
                group=sub.group, event_id=event.id
            ).exists():
                return False
            raise
        return True
    finally:
        watchdog.disarm()


@dataclass(frozen=True)
class Together:
    """The outcome of ``run_together``: latencies, or the first failure."""

    latencies_us: list[int] | None = None  # per job, when all committed
    failed_index: int | None = None  # the job that raised (None: the commit did)
    error: BaseException | None = None


def run_together(
    jobs: list[tuple[Subscription, Event]], watchdog: Watchdog
) -> Together:
    """Run idempotent handlers in one transaction with one insert of their records.

    One commit per batch instead of one per event: 7x (SQLite) to 18x
    (PostgreSQL) less database time per event (bench/README.md, consume).
    If anything raises, everything is rolled back and the caller goes event
    by event; side effects outside the database belong in
    ``transaction.on_commit`` so that a rolled-back run leaves none.
    """
    latencies: list[int] = []
    failed: int | None = None
    try:
        with transaction.atomic():
            for index, (sub, event) in enumerate(jobs):
                started = time.perf_counter()
                watchdog.arm(sub.timeout)
                try:
                    sub.handler(event)
                except (Exception, HandlerTimeout):
                    failed = index
                    raise
                finally:
                    watchdog.disarm()
                latencies.append(int((time.perf_counter() - started) * 1e6))
            ProcessedEvent.objects.bulk_create(
                [ProcessedEvent(group=s.group, event_id=e.id) for s, e in jobs]
            )
    except (Exception, HandlerTimeout) as exc:
        return Together(failed_index=failed, error=exc)
    return Together(latencies_us=latencies)
