"""Hosting: a bootstep on Celery's Worker blueprint runs the group consumers.

Worker-blueprint steps live as long as the worker; Consumer-blueprint steps
are stopped and restarted whenever Celery's own broker connection flaps
(FIELD-NOTES, Celery hosting). Each ``--bus-group`` gets one thread in the
worker's main process, next to Celery's own task consumer, so ``celery
inspect``/``control`` and Flower keep working. ``--bus-group NEW=HANDLERS``
runs the handlers declared for group HANDLERS as the consumer group NEW
(e.g. a replay group running a service's handlers).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import click
from celery import Celery, bootsteps

logger = logging.getLogger("eventbus.consumer")

# Longer than one batch of handlers normally takes; Celery's own shutdown
# waits for this step's stop() before it exits.
STOP_TIMEOUT = 60.0


class BusConsumerStep(bootsteps.StartStopStep):  # type: ignore[misc]
    """Run a ``GroupConsumer`` thread for each ``--bus-group`` of this worker."""

    requires = ("celery.worker.components:Pool",)

    def __init__(
        self, worker: Any, bus_group: tuple[str, ...] = (), **options: Any
    ) -> None:
        super().__init__(worker, **options)
        self.groups = [g for value in bus_group or () for g in value.split(",") if g]
        self.consumers: list[Any] = []
        self.threads: list[threading.Thread] = []

    def start(self, worker: Any) -> None:
        if not self.groups:
            return
        from eventbus.consumer.runner import GroupConsumer
        from eventbus.consumer.subscriptions import group_spec

        # Every spec is checked before any thread starts: a typo stops the
        # worker at startup with the reason, not half of its groups later.
        specs = [group_spec(value) for value in self.groups]
        consumers = [GroupConsumer(group, handlers=owner) for group, owner in specs]
        for consumer in consumers:
            group = consumer.group
            thread = threading.Thread(
                target=self._run, args=(consumer,), name=f"bus-{group}", daemon=True
            )
            self.consumers.append(consumer)
            self.threads.append(thread)
            thread.start()
            logger.info(
                "Bus consumer for group %r started (%s), running the handlers of %r.",
                group,
                consumer.member,
                consumer.handlers,
            )

    def _run(self, consumer: Any) -> None:
        try:
            consumer.run()
        except Exception:
            logger.exception("Bus consumer for group %r crashed.", consumer.group)
            raise

    def stop(self, worker: Any) -> None:
        """Warm shutdown: finish and ack the in-flight batch, release leases."""
        for consumer in self.consumers:
            consumer.stop()
        for thread in self.threads:
            thread.join(STOP_TIMEOUT)
            if thread.is_alive():
                logger.warning("%s did not stop within %ss.", thread.name, STOP_TIMEOUT)
        self.consumers.clear()
        self.threads.clear()

    def shutdown(self, worker: Any) -> None:
        self.stop(worker)


def install(app: Celery) -> None:
    """Add the ``--bus-group`` worker option and the consumer bootstep to ``app``."""
    app.user_options["worker"].add(
        click.Option(
            ["--bus-group"],
            multiple=True,
            default=(),
            help="Consumer group(s) of the event bus to run in this worker "
            "(repeat or comma-separate). NEW=HANDLERS runs the handlers of group "
            "HANDLERS as the group NEW, e.g. analytics-replay=analytics.",
        )
    )
    app.steps["worker"].add(BusConsumerStep)
