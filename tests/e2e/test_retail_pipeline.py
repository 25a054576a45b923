"""The retail shop end to end: real worker processes per service, simulated traffic."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from eventbus.topics import declared_topics, sync_topics
from services.checkout.models import Order
from services.contact.models import Notification
from services.retail.invariants import check_all, drain_state
from services.retail.seed import seed
from services.retail.simulator import Simulator, run
from services.shipping.models import Shipment
from tests.eventbus.consumer_helpers import wait_until
from tests.processes import ROOT, CeleryWorker, child_env

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.db_heavy,
]

SERVICES = ("checkout", "inventory", "shipping", "contact", "analytics")
FAST = {
    "BUS_LEASE_MS": "3000",
    "BUS_HEARTBEAT_SECONDS": "0.5",
    "SHIPPING_DISPATCH_SECONDS": "0.2",
    "SHIPPING_DELIVERY_SECONDS": "0.2",
}


@pytest.fixture
def shop(bus, settings, tmp_path: Path):
    settings.ANALYTICS_LAKE_PATH = str(tmp_path / "lake")
    sync_topics(declared_topics())
    seed(products=12, customers=30, stock=20, seed=7)


@pytest.fixture
def workers(shop, bus, tmp_path: Path):
    started: dict[str, CeleryWorker] = {}

    def start(service: str) -> CeleryWorker:
        worker = CeleryWorker(
            f"{service}-{len(started)}",
            service,
            tmp_path,
            queues=service,
            ANALYTICS_LAKE_PATH=str(tmp_path / "lake"),
            **FAST,
        ).start()
        started[f"{service}-{len(started)}"] = worker
        return worker

    # As in the Procfile: the relay publishes outbox rows whose producer's
    # on-commit relay found the relay lease taken by another process.
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "bus", "relay"],
        cwd=ROOT,
        env=child_env(**FAST),
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "relay.log").open("wb"),
    )
    yield start
    relay.kill()
    relay.wait(10)
    for worker in started.values():
        worker.kill()


def settled() -> bool:
    """Every parcel delivered (or cancelled), every group drained, no problem."""
    in_transit = Shipment.objects.filter(status__in=["created", "dispatched"])
    return not in_transit.exists() and not drain_state() and not check_all()


def simulate(seconds: float, seed_value: int) -> None:
    stats = run(Simulator(seed=seed_value), rate=15, duration=seconds)
    assert stats.placed > 0 and not stats.errors, stats


def test_simulated_traffic_drains_to_a_consistent_shop(workers, bus):
    running = [workers(service) for service in SERVICES]
    for worker in running:
        worker.wait_joined(bus)
    simulate(4, seed_value=1)
    wait_until(settled, timeout=90, what="every group drained, check_all() clean")
    statuses = set(Order.objects.values_list("status", flat=True))
    assert statuses <= {"delivered", "rejected", "cancelled"}, statuses
    assert "delivered" in statuses
    call_command("retail", "check")  # the operator's command agrees


def test_a_stopped_service_catches_up_and_the_others_never_wait(workers, bus):
    running = {service: workers(service) for service in SERVICES}
    for worker in running.values():
        worker.wait_joined(bus)
    assert running["shipping"].terminate() == 0
    simulate(3, seed_value=2)

    # Without shipping, inventory and checkout still did their part.
    wait_until(
        lambda: Order.objects.filter(status="placed").count() == 0,
        timeout=60,
        what="every order reserved or rejected while shipping was down",
    )
    assert Shipment.objects.count() == 0
    assert Notification.objects.filter(kind="order_confirmed").exists()

    workers("shipping").wait_joined(bus)  # back: it catches up from its position
    wait_until(settled, timeout=90, what="every group drained, check_all() clean")
    assert Shipment.objects.exists()
    call_command("retail", "check")
