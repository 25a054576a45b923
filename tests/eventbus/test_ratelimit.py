"""Token buckets in Redis: all-or-nothing takes, refill over time, shared by all."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from eventbus.exceptions import BusUnavailable
from eventbus.ratelimit import rate_key, take
from tests.conftest import free_port


def test_a_full_bucket_gives_its_burst_then_says_how_long_to_wait(bus):
    """rate 1/s, burst 2: two units at once, the third waits about a second."""
    assert take("a", 1, rate=1, burst=2) == 0
    assert take("a", 1, rate=1, burst=2) == 0
    wait = take("a", 1, rate=1, burst=2)
    assert 0.9 <= wait <= 1.0


def test_a_refused_take_takes_nothing(bus):
    """Asking for more than is there leaves the bucket as it was."""
    assert take("b", 3, rate=1, burst=4) == 0  # 1 left
    assert take("b", 2, rate=1, burst=4) > 0
    assert take("b", 1, rate=1, burst=4) == 0  # the 1 was still there


def test_the_bucket_refills_at_the_rate(bus):
    assert take("c", 20, rate=100, burst=20) == 0
    assert take("c", 5, rate=100, burst=20) > 0
    time.sleep(0.1)  # 10 units at 100/s
    assert take("c", 5, rate=100, burst=20) == 0


def test_buckets_are_independent(bus):
    assert take("d1", 2, rate=1, burst=2) == 0
    assert take("d1", 1, rate=1, burst=2) > 0
    assert take("d2", 2, rate=1, burst=2) == 0


def test_concurrent_takers_never_overdraw_a_bucket(bus):
    """Forty threads asking for one unit each from a bucket of ten: ten succeed."""
    results: list[float] = []
    lock = threading.Lock()

    def grab() -> None:
        wait = take("e", 1, rate=0.001, burst=10)
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=grab) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(1 for w in results if w == 0) == 10


def test_a_bucket_key_expires_once_it_would_be_full_again(bus):
    take("f", 1, rate=10, burst=20)
    ttl = bus.pttl(rate_key("f"))
    assert 0 < ttl <= 20 * 1000 // 10 + 1000


def test_a_take_larger_than_the_burst_is_refused_outright(bus):
    with pytest.raises(ValueError, match="split the request"):
        take("g", 3, rate=1, burst=2)
    assert not bus.exists(rate_key("g"))


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (1, 0), (-1, 2)])
def test_rate_and_burst_must_be_positive(bus, rate, burst):
    with pytest.raises(ValueError, match="rate > 0 and burst > 0"):
        take("h", 1, rate=rate, burst=burst)


def test_redis_down_is_bus_unavailable(db):
    client = redis.Redis(port=free_port(), socket_connect_timeout=1)
    with pytest.raises(BusUnavailable, match="rate limit"):
        take("i", 1, rate=1, burst=1, client=client)
