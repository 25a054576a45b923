"""manage.py simulate: paced traffic through checkout's real actions."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from services.checkout.models import Cart, Order
from services.retail import simulator
from services.retail.seed import seed
from services.retail.simulator import Simulator, run, zipf_weights

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(topics) -> None:
    seed(products=12, customers=10, stock=30, seed=3)


def test_two_seconds_place_orders_and_count_every_request(seeded) -> None:
    """A 2 s run places orders at about the rate; each request is accounted for."""
    sim = Simulator(seed=7)
    stats = run(sim, rate=25, duration=2)
    assert not stats.errors and not stats.malformed_accepted
    assert 40 <= stats.actions <= 51
    assert stats.placed > 30
    assert Order.objects.count() == stats.placed
    settled = stats.placed + stats.cancelled + stats.cancel_refused
    assert settled + sum(stats.rejected.values()) == stats.actions
    assert Order.objects.filter(status="cancelled").count() == stats.cancelled


def test_about_half_the_orders_go_through_carts(seeded) -> None:
    """Each order placed via a cart is the order of exactly one checked-out cart."""
    sim = Simulator(seed=11)
    for _ in range(80):
        sim.step()
    stats = sim.stats
    assert not stats.errors and not stats.malformed_accepted
    assert 0.3 * stats.placed < stats.placed_via_cart < 0.7 * stats.placed
    checked_out = Cart.objects.filter(status="checked_out")
    assert checked_out.count() == stats.placed_via_cart
    assert not checked_out.filter(order__isnull=True).exists()
    # A cart's order holds the cart's lines (some changed before checkout).
    for cart in checked_out.select_related("order"):
        cart_lines = [(x.sku, x.qty) for x in cart.lines.all()]
        assert cart_lines == [(x.sku, x.qty) for x in cart.order.lines.all()]
    assert Order.objects.count() == stats.placed


def test_malformed_requests_are_refused_and_write_nothing(seeded, monkeypatch) -> None:
    """Unknown SKUs, qty 0, empty orders and empty carts are rejected, not placed."""
    monkeypatch.setattr(simulator, "MALFORMED_SHARE", 1.0)
    sim = Simulator(seed=1)
    for _ in range(30):
        sim.step()
    assert sim.stats.placed == 0 and not sim.stats.errors
    assert set(sim.stats.rejected) == set(simulator.MALFORMED_KINDS)
    assert sum(sim.stats.rejected.values()) == 30
    assert not Order.objects.exists()


def test_same_seed_same_choices(seeded) -> None:
    """Two runs with one --seed make the same requests with the same lines."""

    def requests() -> list[tuple[str, list[tuple[str, int]]]]:
        sim = Simulator(seed=42)
        made = []
        for _ in range(25):
            what = sim.step()
            order = Order.objects.order_by("-id").first()
            made.append((what, [(x.sku, x.qty) for x in order.lines.all()]))
        return made

    assert requests() == requests()


def test_popular_skus_weigh_more() -> None:
    """The first SKU is ordered most, the last least (Zipf-like)."""
    weights = zipf_weights(40)
    assert weights == sorted(weights, reverse=True)
    assert weights[0] > 40 * weights[-1]


def test_ctrl_c_stops_cleanly(seeded) -> None:
    """Ctrl-C stops after the request under way and keeps the counts."""
    sim = Simulator(seed=5)

    def interrupt_third(_: str) -> None:
        if sim.stats.actions == 3:
            raise KeyboardInterrupt

    stats = run(sim, rate=1000, duration=10, on_step=interrupt_third)
    assert stats.interrupted and stats.actions == 3


def test_command_prints_summary(seeded, capsys) -> None:
    """The command runs at the rate given and ends with the summary table."""
    call_command("simulate", "--rate", "20", "--duration", "1", "--seed", "2")
    out = capsys.readouterr().out
    assert "orders placed" in out and "actual rate" in out
    assert "of them through a cart" in out


def test_command_needs_seeded_shop(topics) -> None:
    """Without products or customers the command says to seed first."""
    with pytest.raises(CommandError, match="retail seed"):
        call_command("simulate", "--duration", "1")
