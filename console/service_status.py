"""What each service is doing: its Celery workers, bus members and counters.

Read-only. Workers answer Celery's inspect broadcast (``<service>@host`` as
the Procfile names them); bus members and the partitions they hold come
from the group's membership status; counters from eventbus.metrics.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from eventbus import list_groups
from eventbus.client import get_redis, redis_errors
from eventbus.consumer.membership import group_members
from eventbus.exceptions import BusUnavailable
from eventbus.metrics import SourceStats, source_stats


@dataclass
class Worker:
    """One Celery worker that answered inspect."""

    hostname: str
    pid: int | None
    queues: list[str]
    uptime: int | None  # seconds
    concurrency: int | None

    @property
    def service(self) -> str:
        return self.hostname.split("@", 1)[0]


@dataclass
class Member:
    """One bus consumer of a group (a thread in some worker process)."""

    member: str
    pid: int | None
    sources: list[str]
    worker: str | None = None  # hostname of the Celery worker hosting it


@dataclass
class TopicCounters:
    """A group's counters on one topic, summed and per partition."""

    topic: str
    partitions: list[SourceStats]

    def _sum(self, name: str) -> int:
        return sum(getattr(row, name) for row in self.partitions)

    @property
    def processed(self) -> int:
        return self._sum("processed")

    @property
    def failed(self) -> int:
        return self._sum("failed")

    @property
    def dead(self) -> int:
        return self._sum("dead")

    @property
    def mean_latency_ms(self) -> float | None:
        processed = self.processed
        return self._sum("latency_us") / processed / 1000 if processed else None


@dataclass
class Service:
    """A service: the consumer group of that name and the workers serving it."""

    name: str
    workers: list[Worker] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    topics: list[TopicCounters] = field(default_factory=list)


@dataclass
class ServicesStatus:
    services: list[Service]
    other_workers: list[Worker]  # workers whose name matches no group
    workers_problem: str | None  # why no worker is listed, when none is
    bus_problem: str | None


def inspect_timeout() -> float:
    """Return the seconds to wait for workers (CONSOLE["INSPECT_TIMEOUT"])."""
    return float(getattr(settings, "CONSOLE", {}).get("INSPECT_TIMEOUT", 1.0))


def celery_workers(timeout: float | None = None) -> tuple[list[Worker], str | None]:
    """Ask every Celery worker for its stats and queues; return them or why not."""
    from config.celery import app

    timeout = inspect_timeout() if timeout is None else timeout
    try:
        stats: dict[str, Any] = app.control.inspect(timeout=timeout).stats() or {}
        queues: dict[str, Any] = {}
        if stats:
            # Ask only the workers that answered: the reply comes without
            # waiting out the timeout.
            names = sorted(stats)
            queues = (
                app.control.inspect(
                    timeout=timeout, destination=names, limit=len(names)
                ).active_queues()
                or {}
            )
    except Exception as exc:  # broker errors come in many kombu types
        return [], f"Celery workers could not be asked ({exc})."
    if not stats:
        return [], f"No worker answered within {timeout:g} s."
    workers = []
    for hostname, info in sorted(stats.items()):
        pool = info.get("pool") or {}
        workers.append(
            Worker(
                hostname=hostname,
                pid=info.get("pid"),
                queues=sorted(q.get("name", "?") for q in queues.get(hostname) or []),
                uptime=info.get("uptime"),
                concurrency=pool.get("max-concurrency"),
            )
        )
    return workers, None


def _member_pid(member: str) -> int | None:
    # Member ids are "<host>-<pid>-<random>" (membership.new_member_id).
    parts = member.rsplit("-", 2)
    return int(parts[1]) if len(parts) == 3 and parts[1].isdigit() else None


def services_status() -> ServicesStatus:
    """Return every service with its workers, members and counters."""
    from console.health import redis_problem

    problem = redis_problem()
    if problem:
        # The broker is (by default) the same Redis: inspect would only hang.
        return ServicesStatus([], [], "Workers were not asked: " + problem, problem)
    workers, workers_problem = celery_workers()
    by_pid = {w.pid: w for w in workers if w.pid is not None}
    services: dict[str, Service] = {}
    bus_problem = None
    try:
        groups = list_groups()
        client = get_redis()
        for info in groups:
            service = services.setdefault(info.name, Service(info.name))
            service.topics.append(
                TopicCounters(info.topic, source_stats(info.topic, info.name))
            )
        for service in services.values():
            with redis_errors(f"read the members of '{service.name}'"):
                status = group_members(client, service.name)
            for raw in status:
                name = str(raw.get("member", "?"))
                member = Member(name, _member_pid(name), list(raw.get("sources", [])))
                worker = by_pid.get(member.pid) if member.pid else None
                member.worker = worker.hostname if worker else None
                service.members.append(member)
    except BusUnavailable as exc:
        bus_problem = str(exc)
    others = []
    for worker in workers:
        if worker.service in services:
            services[worker.service].workers.append(worker)
        else:
            others.append(worker)
    ordered = [services[name] for name in sorted(services)]
    return ServicesStatus(ordered, others, workers_problem, bus_problem)
