"""Consumer throughput and latency: our runtime against raw redis-py and plain Celery.

Run from the repository root (``make bench-consume`` does)::

    .venv/bin/python bench/consume.py [--rounds 5] [--events 100000] [--profile]

1. Drain of ``--events`` pre-published ~250-byte events (4 partitions) by a
   ``GroupConsumer`` thread with a no-op handler, idempotency off, against a
   raw redis-py ``XREADGROUP COUNT 1000`` + ``XACK`` loop in this process.
2. The same drain with idempotency on (one transaction and ProcessedEvent row
   per event) on SQLite (file, WAL) and on PostgreSQL, in child processes.
3. A real ``celery -A config worker --bus-group`` draining the topic against
   a plain Celery worker running one no-op task per event (Redis broker),
   both ``--concurrency 1``.
4. Latency from ``publish`` to the start of the handler in a worker process,
   one event at a time at a steady rate.

Each throughput figure is the median of the rounds. Writes bench/out/consume.json.

Redis: BENCH_REDIS_URL, else database 14 of REDIS_URL (default
redis://127.0.0.1:6390/14). That one database is FLUSHED before and after the
run; nothing else is touched. SQLite lives in a temporary directory; the
PostgreSQL database (--pg-url) is created and dropped by the run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import os
import pstats
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _consume_common as common  # noqa: E402
from bench.consume_app import names  # noqa: E402
from bench.publish import bench_url, make_data  # noqa: E402

OUT = common.ROOT / "bench" / "out" / "consume.json"
LOGS = common.ROOT / "bench" / "out" / "consume-logs"  # the workers' logs
PG_URL = "postgresql://postgres@127.0.0.1:5432/switchyard_bench_consume"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--rounds", type=int, default=5, help="rounds per throughput figure (>= 5)")
    add("--events", type=int, default=100_000, help="events drained (phases 1, 3)")
    add("--batch-size", type=int, default=1000, help="in-process batch (phase 1)")
    add("--idem-events", type=int, default=10_000, help="events drained (phase 2)")
    add("--worker-batch-size", type=int, default=100, help="BUS_BATCH_SIZE (3, 4)")
    add("--celery-events", type=int, default=10_000, help="plain Celery tasks")
    add("--latency-seconds", type=float, default=30.0, help="phase 4 duration")
    add("--latency-rate", type=float, default=1000.0, help="phase 4 events/s")
    add("--pg-url", default=PG_URL, help="PostgreSQL database to create and drop")
    add("--no-postgres", action="store_true", help="skip PostgreSQL in phase 2")
    add("--profile", action="store_true", help="also print cProfile of a drain")
    add(
        "--gc-freeze",
        action="store_true",
        help="gc.freeze() after setup (phase 1 only): what the runtime would gain",
    )
    args = parser.parse_args()
    if args.rounds < 5:
        parser.error("use at least 5 rounds: the figures are medians")
    return args


def prepublish(topic: str, kind: str, count: int) -> None:
    from eventbus import Outgoing, publish_many

    for start in range(0, count, 1000):
        publish_many(
            Outgoing(topic, kind, make_data(n), key=f"cus-{n % 5000:06d}")
            for n in range(start, min(start + 1000, count))
        )


def phase_drain(client: Any, args: argparse.Namespace) -> dict[str, list[Any]]:
    """Rounds of ours (two batch sizes) and raw, alternating which goes first."""
    from bench._consume_drain import drain_ours, drain_raw

    data, pauses = make_data(0), common.GcPauses()
    runs = {
        "ours": lambda: drain_ours(
            client, names.TOPIC, data, batch_size=args.batch_size, idempotent=False
        ),
        "ours_default": lambda: drain_ours(
            client, names.TOPIC, data, batch_size=100, idempotent=False
        ),
        "raw": lambda: drain_raw(client, names.TOPIC),
    }
    out: dict[str, list[Any]] = {f"{k}{s}": [] for k in runs for s in ("", "_gc")}
    for n in range(args.rounds):
        for name in sorted(runs, reverse=bool(n % 2)):
            with pauses.counting():
                rate, _ = runs[name]()
            out[name].append(rate)
            out[f"{name}_gc"].append((round(pauses.seconds * 1000), pauses.full))
        print(
            f"  round {n + 1}: " + ", ".join(f"{k} {out[k][-1]:,.0f}/s" for k in runs)
        )
    return out


def phase_idempotent(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Run the idempotent drains in a child process per database."""
    import orjson

    databases = {"sqlite": env["DATABASE_URL"]}
    if not args.no_postgres:
        databases["postgresql"] = args.pg_url
    results: dict[str, Any] = {}
    for name, url in databases.items():
        if name == "postgresql" and not common.create_database(url):
            results[name] = {"skipped": f"PostgreSQL at {url} is unreachable"}
            continue
        try:
            child = subprocess.run(
                [sys.executable, "-m", "bench._consume_drain"]
                + ["--rounds", str(args.rounds), "--batch-size", str(args.batch_size)],
                cwd=common.ROOT,
                env={**env, "DATABASE_URL": url},
                capture_output=True,
                text=True,
                timeout=1800,
            )
        finally:
            if name == "postgresql":
                common.drop_database(url)
        if child.returncode:
            raise RuntimeError(f"The {name} drain failed:\n{child.stderr[-3000:]}")
        results[name] = orjson.loads(child.stdout.strip().splitlines()[-1])
        rates = results[name]["rates"]
        print(f"  {name}: " + ", ".join(f"{r:,.0f}/s" for r in rates))
    return results


def phase_workers(
    client: Any, args: argparse.Namespace, env: dict[str, str], logs: Path
) -> dict[str, list[float]]:
    """Rounds of our worker's drain and plain Celery's, alternating."""
    from bench import _consume_workers as w

    ours = w.bus_worker(names.WORKER_GROUP, env, logs)
    plain = w.plain_worker(env, logs)
    out: dict[str, list[float]] = {"worker": [], "celery": []}
    try:
        w.wait_owning(client, ours, names.WORKER_GROUP, names.PARTITIONS + 1)
        payloads = [make_data(n) for n in range(args.celery_events)]
        w.drain_celery(client, plain, payloads[:500])  # warm-up, not counted
        data = make_data(0)
        runs = {
            "worker": lambda: w.drain_worker(
                client, ours, names.TOPIC, names.WORKER_GROUP, data
            ),
            "celery": lambda: w.drain_celery(client, plain, payloads),
        }
        for n in range(args.rounds):
            for name in sorted(runs, reverse=bool(n % 2)):
                out[name].append(runs[name]()[0])
            print(
                f"  round {n + 1}: "
                + ", ".join(f"{k} {out[k][-1]:,.0f}/s" for k in out)
            )
    finally:
        ours.stop()
        plain.stop()
    return out


def phase_latency(
    client: Any, args: argparse.Namespace, env: dict[str, str], logs: Path
) -> dict[str, Any]:
    """Publish at a steady rate to a worker's group; return latency percentiles."""
    from bench import _consume_workers as w
    from bench._consume_latency import measure_latency

    worker = w.bus_worker(names.LATENCY_GROUP, env, logs)
    try:
        w.wait_owning(client, worker, names.LATENCY_GROUP, names.PARTITIONS + 1)
        warmup = int(args.latency_rate)  # one second
        count = warmup + int(args.latency_seconds * args.latency_rate)
        return measure_latency(
            client,
            names.LATENCY_TOPIC,
            names.LATENCY_TYPE,
            names.LATENCY_LIST,
            [make_data(n) for n in range(count)],
            args.latency_rate,
            warmup,
        )
    finally:
        worker.stop()


def profile(client: Any, args: argparse.Namespace) -> str:
    """Return cProfile's view of the consumer thread during one drain."""
    from bench._consume_drain import drain_ours

    out = io.StringIO()
    profiler, pauses = cProfile.Profile(), common.GcPauses()
    with pauses.counting():
        rate, events = drain_ours(
            client,
            names.TOPIC,
            make_data(0),
            batch_size=args.batch_size,
            idempotent=False,
            profiler=profiler,
        )
    out.write(
        f"\n--- consumer thread, batch {args.batch_size}, {events} events "
        f"({rate:,.0f}/s under the profiler); GC paused "
        f"{pauses.seconds * 1000:.0f} ms in {pauses.full} full collections, which "
        "cProfile charges to whatever allocated at the time ---\n"
    )
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(25)
    return out.getvalue()


def main() -> int:
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress lines as they come
    url = bench_url()
    LOGS.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-consume-") as tmp:
        database = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        env = common.bench_env(url, database, args.worker_batch_size)
        about = common.machine()
        common.setup_django(env, names.TOPICS)
        import orjson

        from bench._consume_report import report, summarise
        from eventbus.client import get_redis, server_version

        client = get_redis()
        client.flushdb()  # only the benchmark's database
        if args.gc_freeze:
            # Objects alive now (Django, modules) leave the collector's view,
            # so a full collection only walks what the drains allocate.
            gc.collect()
            gc.freeze()
        try:
            print(f"Publishing {args.events:,} + {args.idem_events:,} events ...")
            prepublish(names.TOPIC, names.TYPE, args.events)
            prepublish(names.IDEM_TOPIC, names.IDEM_TYPE, args.idem_events)
            print("1. drain, idempotency off: ours (in-process thread) and raw")
            drain = phase_drain(client, args)
            print("2. drain, idempotency on")
            idem = phase_idempotent(args, env)
            print("3. Celery worker with --bus-group and plain Celery")
            workers = phase_workers(client, args, env, LOGS)
            pace = f"{args.latency_seconds:.0f} s at {args.latency_rate:,.0f}/s"
            print(f"4. latency, {pace}")
            latency = phase_latency(client, args, env, LOGS)
            result = summarise(drain, idem, workers, latency)
            about["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
            result.update(
                rounds=args.rounds,
                events=args.events,
                idem_events=args.idem_events,
                celery_events=args.celery_events,
                batch_size=args.batch_size,
                worker_batch_size=args.worker_batch_size,
                gc_freeze=args.gc_freeze,
                date=datetime.now(UTC).isoformat(timespec="seconds"),
                seconds=round(time.monotonic() - began),
                redis_version=".".join(map(str, server_version(client))),
                redis_url=url,
                machine=about,
            )
            OUT.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
            report(result)
            print(f"wrote {OUT.relative_to(common.ROOT)} in {result['seconds']} s")
            if args.profile:
                print(profile(client, args))
        finally:
            client.flushdb()
    return 0


if __name__ == "__main__":
    sys.exit(main())
