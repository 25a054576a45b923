"""Publish throughput: eventbus against raw redis-py XADD, in one process and run.

Run from the repository root (``make bench`` does)::

    .venv/bin/python bench/publish.py [--rounds 5] [--events 20000] [--profile]

Compares ``publish`` one at a time with a raw ``XADD`` one at a time, and
``publish_many`` (batches of 500) with a raw pipelined ``XADD`` loop (pipelines
of 500, ``transaction=False``), on the same ~250-byte payload and the same
client options. Each figure is the median of the rounds; within a round ours
and raw take turns every 2,000 events so load from other processes hits both.
Writes bench/out/publish.json.

Redis: BENCH_REDIS_URL, else database 14 of REDIS_URL (default
redis://127.0.0.1:6390/14). That one database is FLUSHED before every run;
nothing else is touched. The topic row lives in an in-memory SQLite database
migrated here, so the demo database is never needed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out" / "publish.json"
TOPIC = "bench"
TYPE = "bench.order_placed"
PARTITIONS = 4
BATCH = 500
SLICE = 2000  # events per turn when ours and raw alternate
TARGETS = {"single": 0.80, "batch": 0.50}
SCHEMA = {
    "type": "object",
    "required": ["order_id", "customer_id", "items", "total", "currency"],
    "properties": {
        "order_id": {"type": "string"},
        "customer_id": {"type": "string"},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["sku", "qty", "price"],
                "properties": {
                    "sku": {"type": "string"},
                    "qty": {"type": "integer", "minimum": 1},
                    "price": {"type": "number"},
                },
            },
        },
        "total": {"type": "number"},
        "currency": {"type": "string"},
    },
}


def bench_url() -> str:
    """Return the Redis URL to benchmark against (database 14 unless told)."""
    explicit = os.environ.get("BENCH_REDIS_URL")
    if explicit:
        return explicit
    base = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6390/0")
    return urlunsplit((base.scheme, base.netloc, "/14", base.query, base.fragment))


def setup_django(url: str) -> None:
    """Configure Django with the test settings, an in-memory DB and ``url``."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    os.environ["TEST_REDIS_URL"] = url
    os.environ["DATABASE_URL"] = "sqlite://:memory:"
    # The raw baseline does not wait for fsync either: compare the default mode.
    os.environ["BUS_DURABILITY"] = "everysec"
    import django

    django.setup()
    from django.core.management import call_command

    from eventbus import register_event_type
    from eventbus.models import Topic

    call_command("migrate", verbosity=0)
    Topic.objects.create(name=TOPIC, partitions=PARTITIONS)
    register_event_type(TYPE, topic=TOPIC, schema=SCHEMA)


def make_data(n: int) -> dict[str, Any]:
    """Return one order payload; its JSON is about 250 bytes."""
    return {
        "order_id": f"ord-{n:010d}",
        "customer_id": f"cus-{n % 5000:06d}",
        "items": [
            {"sku": "SKU-RED-SHIRT-M", "qty": 2, "price": 19.99},
            {"sku": "SKU-BLUE-JEANS-32", "qty": 1, "price": 49.5},
            {"sku": "SKU-SOCKS-3PK", "qty": 3, "price": 7.25},
        ],
        "total": 111.23,
        "currency": "EUR",
    }


class Runs:
    """The workloads, with their inputs built outside the timed regions."""

    def __init__(self, events: int) -> None:
        import orjson
        import redis

        from eventbus.client import get_redis
        from eventbus.envelope import FIELD
        from eventbus.keys import stream_key

        self.ours_client = get_redis()
        kwargs = self.ours_client.connection_pool.connection_kwargs
        # Same options as eventbus.client.get_redis: a separate pool, same settings.
        self.raw_client = redis.Redis.from_url(
            bench_url(),
            health_check_interval=kwargs.get("health_check_interval", 30),
            socket_connect_timeout=kwargs.get("socket_connect_timeout", 5),
            socket_keepalive=kwargs.get("socket_keepalive", True),
        )
        self.field = FIELD
        self.events = events
        self.data = [make_data(n) for n in range(events)]
        self.keys = [f"cus-{n % 5000:06d}" for n in range(events)]
        self.payloads = [orjson.dumps(d) for d in self.data]
        self.streams = [
            stream_key(f"{TOPIC}raw", n % PARTITIONS) for n in range(events)
        ]
        self.outgoing = [
            {"topic": TOPIC, "type": TYPE, "data": d, "key": k}
            for d, k in zip(self.data, self.keys, strict=True)
        ]

    def single_ours(self, lo: int = 0, hi: int | None = None) -> None:
        from eventbus import publish

        for i in range(lo, self.events if hi is None else hi):
            publish(TOPIC, TYPE, self.data[i], key=self.keys[i])

    def single_raw(self, lo: int = 0, hi: int | None = None) -> None:
        xadd, field = self.raw_client.xadd, self.field
        for i in range(lo, self.events if hi is None else hi):
            xadd(self.streams[i], {field: self.payloads[i]})

    def batch_ours(self, lo: int = 0, hi: int | None = None) -> None:
        from eventbus import publish_many

        hi = self.events if hi is None else hi
        for start in range(lo, hi, BATCH):
            publish_many(self.outgoing[start : min(start + BATCH, hi)])

    def batch_raw(self, lo: int = 0, hi: int | None = None) -> None:
        field = self.field
        hi = self.events if hi is None else hi
        for start in range(lo, hi, BATCH):
            pipe = self.raw_client.pipeline(transaction=False)
            for i in range(start, min(start + BATCH, hi)):
                pipe.xadd(self.streams[i], {field: self.payloads[i]})
            pipe.execute()

    def flush(self) -> None:
        self.raw_client.flushdb()  # only the benchmark's database


def measure(runs: Runs, rounds: int) -> dict[str, list[float]]:
    """Return events/s per round for each workload.

    Within a round, ours and raw take turns slice by slice (SLICE events),
    alternating which goes first, so a burst of load from another process on
    the machine slows both sides instead of one.
    """
    pairs = {
        "single": (runs.single_ours, runs.single_raw),
        "batch": (runs.batch_ours, runs.batch_raw),
    }
    rates: dict[str, list[float]] = {
        f"{m}_{w}": [] for m in pairs for w in ("ours", "raw")
    }
    for _ in range(rounds):
        for mode, (ours, raw) in pairs.items():
            runs.flush()
            spent = {"ours": 0.0, "raw": 0.0}
            for n, lo in enumerate(range(0, runs.events, SLICE)):
                hi = min(lo + SLICE, runs.events)
                order = [("ours", ours), ("raw", raw)]
                if n % 2:
                    order.reverse()
                for who, run in order:
                    started = time.perf_counter()
                    run(lo, hi)
                    spent[who] += time.perf_counter() - started
            for who, seconds in spent.items():
                rates[f"{mode}_{who}"].append(runs.events / seconds)
    runs.flush()
    return rates


def profile(runs: Runs) -> str:
    """Return cProfile's top functions for our single and batch publishes."""
    out = io.StringIO()
    for name in ("single_ours", "batch_ours"):
        runs.flush()
        profiler = cProfile.Profile()
        profiler.runcall(getattr(runs, name))
        out.write(f"\n--- {name} ({runs.events} events), by own time ---\n")
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(18)
    runs.flush()
    return out.getvalue()


def report(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"publish throughput, median of {result['rounds']} rounds")
    columns = ("mode", "ours (ev/s)", "raw redis-py (ev/s)", "+µs/event", "ratio")
    for column in (*columns, "target", ""):
        table.add_column(column, justify="right" if column != "mode" else "left")
    for mode, label in (("single", "one at a time"), ("batch", f"batches of {BATCH}")):
        ratio = result[f"{mode}_ratio"]
        target = TARGETS[mode]
        verdict = "[green]PASS" if ratio >= target else "[red]BELOW"
        table.add_row(
            label,
            f"{result[f'{mode}_ours_per_s']:,.0f}",
            f"{result[f'{mode}_raw_per_s']:,.0f}",
            f"{result[f'{mode}_overhead_us']:.1f}",
            f"{ratio:.2f}",
            f">= {target:.2f}",
            verdict,
        )
    console = Console(width=110)
    console.print(table)
    console.print(
        f"Redis {result['redis_version']} at {result['redis_url']}; "
        f"{result['events_per_round']} events per round; entry size ours "
        f"{result['entry_bytes_ours']} B, raw {result['entry_bytes_raw']} B"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds (median; >= 5)")
    parser.add_argument("--events", type=int, default=20_000, help="events per round")
    parser.add_argument("--profile", action="store_true", help="also print cProfile")
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("use at least 5 rounds: the figures are medians")

    url = bench_url()
    setup_django(url)
    import orjson

    from eventbus.client import server_version
    from eventbus.producer import prepare

    runs = Runs(args.events)
    warm = Runs(1000)  # loads the topic cache, compiles the validator, opens pools
    warm.flush()
    for run in (warm.single_ours, warm.single_raw, warm.batch_ours, warm.batch_raw):
        run()
    rates = measure(runs, args.rounds)
    medians = {name: statistics.median(values) for name, values in rates.items()}
    sample = prepare(TOPIC, TYPE, runs.data[0], key=runs.keys[0])
    result: dict[str, Any] = {
        "single_ratio": round(medians["single_ours"] / medians["single_raw"], 3),
        "batch_ratio": round(medians["batch_ours"] / medians["batch_raw"], 3),
        "single_ours_per_s": round(medians["single_ours"]),
        "single_raw_per_s": round(medians["single_raw"]),
        "batch_ours_per_s": round(medians["batch_ours"]),
        "batch_raw_per_s": round(medians["batch_raw"]),
        # What ours adds per event, which (unlike the ratio) does not depend
        # on how fast the machine's loopback round trip happens to be.
        "single_overhead_us": round(
            1e6 / medians["single_ours"] - 1e6 / medians["single_raw"], 1
        ),
        "batch_overhead_us": round(
            1e6 / medians["batch_ours"] - 1e6 / medians["batch_raw"], 1
        ),
        "rounds": args.rounds,
        "events_per_round": args.events,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "redis_version": ".".join(map(str, server_version(runs.raw_client))),
        "redis_url": url,
        "entry_bytes_ours": len(sample.wire),
        "entry_bytes_raw": len(runs.payloads[0]),
        "per_round": {
            name: [round(v) for v in values] for name, values in rates.items()
        },
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    report(result)
    print(f"wrote {OUT.relative_to(ROOT)}")
    if args.profile:
        print(profile(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
