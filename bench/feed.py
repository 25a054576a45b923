"""WebSocket feed fan-out against channels_redis group_send, from one Daphne each.

Run from the repository root::

    .venv/bin/python bench/feed.py [--clients 100] [--rate 500] [--seconds 10]

A private redis-server and a temporary SQLite database. One Daphne process
serves the feed (``config.asgi``, ``/ws/v1/events``) or the baseline
(bench/_feed_baseline.py: one channels_redis ``group_send`` per event); a
fresh one for every measurement, and only one runs at a time.
``--clients`` sockets (in ``--client-procs`` processes of their own, asyncio
``websockets``) follow one 4-partition topic while a publisher process
publishes a steady ``--rate`` for ``--seconds``. Latency is the client's
arrival time minus ``data.sent_ns``, taken just before the publish call;
events of the first ``--warmup`` second are delivered and counted but not
timed (the first group_send to a fresh group is slow, which is not steady
state). Delivered = frames received / (events published x clients).

1. ``--rounds`` rounds of feed and baseline at ``--rate`` (order alternates);
   figures are medians over rounds of each round's delivered fraction, p50, p99.
2. Sustainable rates: each system steps through its rates (``--feed-rates``,
   ``--baseline-rates``, ``--step-seconds`` each). "Equal latency": a step is
   sustained when >= 99.9 % of frames arrive AND its p99 <= the bound, the
   same bound for both systems: ``--latency-factor`` x the feed's p99 of
   step 1 (and never under ``--latency-floor-ms``). The sustainable rate is
   the highest step sustained. A sweep stops after a step that loses
   frames or has a p99 over 10x the bound. The ratio is feed / baseline;
   when the baseline sustains no step (or the feed its top step) the ratio
   is a lower bound, marked ">=" (``ratio_bound`` in the JSON). For
   context the output also has each system's highest step with >= 99.9 %
   delivered at any latency.

Writes bench/out/feed.json. Logs in bench/out/feed-logs/.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _consume_common as common  # noqa: E402
from bench import _feed_measure as fm  # noqa: E402
from bench.consume_app.names import LATENCY_TOPIC, PARTITIONS  # noqa: E402

OUT = common.ROOT / "bench" / "out" / "feed.json"
LOGS = common.ROOT / "bench" / "out" / "feed-logs"
TARGETS = {"delivered_fraction": 1.0, "p99_ms": 50.0, "sustainable_ratio": 10.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--clients", type=int, default=100, help="feed sockets (and baseline sockets)")
    add("--rate", type=float, default=500.0, help="events/s in step 1")
    add("--seconds", type=float, default=10.0, help="length of one round")
    add("--rounds", type=int, default=3, help="rounds of step 1 (medians)")
    add("--client-procs", type=int, default=2, help="processes holding the sockets")
    add("--feed-rates", default="250,500,750,1000,1500,2000", help="feed sweep")
    add("--baseline-rates", default="10,25,50,100,200", help="baseline sweep")
    add("--step-seconds", type=float, default=5.0, help="length of a sweep step")
    add("--latency-factor", type=float, default=3.0, help="bound = this x feed p99")
    add("--latency-floor-ms", type=float, default=20.0, help="the bound at least")
    add("--drain", type=float, default=15.0, help="s to wait for the last frames")
    add("--warmup", type=float, default=1.0, help="s of events not timed")
    add("--no-sweep", action="store_true", help="step 1 only")
    return parser.parse_args()


def rates(text: str) -> list[float]:
    return [float(r) for r in text.split(",") if r.strip()]


async def sweep(
    run: Any, steps: list[float], bound: float, progress: Any, task: Any
) -> list[dict[str, Any]]:
    results = []
    for rate in steps:
        progress.update(task, description=f"sweep {run.__name__} {rate:.0f}/s")
        result = await run(rate)
        result["sustained"] = (
            result["delivered_fraction"] >= 0.999 and result["p99_ms"] <= bound
        )
        results.append(result)
        progress.console.print(line(result))
        progress.advance(task)
        if result["delivered_fraction"] < 0.999 or result["p99_ms"] > 10 * bound:
            break  # far off: higher rates only do worse
    return results


def line(r: dict[str, Any]) -> str:
    closes = f" closes {r['closes']}" if r["closes"] else ""
    return (
        f"{r['mode']:>8} {r['rate']:>6.0f}/s (made {r['rate_made']:.0f}): "
        f"delivered {r['delivered_fraction']:.4f} p50 {r['p50_ms']:.1f} ms "
        f"p99 {r['p99_ms']:.1f} ms max {r['max_ms']:.0f} ms; daphne cpu "
        f"{r['daphne_cpu']:.2f}, clients {r['clients_cpu']}{closes}"
    )


def sustainable(results: list[dict[str, Any]], *, latency: bool) -> float | None:
    passed = [
        r["rate"]
        for r in results
        if (r["sustained"] if latency else r["delivered_fraction"] >= 0.999)
    ]
    return max(passed) if passed else None


async def bench(args: argparse.Namespace, setup: fm.Setup) -> dict[str, Any]:
    from rich.progress import Progress

    async def served(
        mode: str, app: str, path: str, rate: float, seconds: float | None
    ) -> dict[str, Any]:
        # A fresh Daphne per measurement: a group_send backlog left from an
        # overloaded step must not eat the CPU of the next measurement.
        log = LOGS / f"daphne-{mode}.log"
        daphne, port = await asyncio.to_thread(fm.start_daphne, app, setup.env, log)
        try:
            url = f"ws://127.0.0.1:{port}{path}"
            seconds = seconds or args.step_seconds
            return await fm.measure(setup, mode, url, daphne.pid, rate, seconds)
        finally:
            daphne.terminate()
            await asyncio.to_thread(daphne.wait, 10)

    async def run_feed(rate: float, seconds: float | None = None) -> dict[str, Any]:
        app = "config.asgi:application"
        return await served("feed", app, "/ws/v1/events", rate, seconds)

    async def run_baseline(rate: float, seconds: float | None = None) -> dict[str, Any]:
        app = "bench._feed_baseline:application"
        return await served("baseline", app, "/ws/baseline/", rate, seconds)

    feed_steps, base_steps = rates(args.feed_rates), rates(args.baseline_rates)
    total = 2 * args.rounds + (0 if args.no_sweep else len(feed_steps + base_steps))
    rounds: list[dict[str, Any]] = []
    sweeps: dict[str, list[dict[str, Any]]] = {"feed": [], "baseline": []}
    with Progress() as progress:
        task = progress.add_task("step 1", total=total)
        for number in range(args.rounds):
            pair = {}
            order = (run_feed, run_baseline)[:: 1 if number % 2 == 0 else -1]
            for run in order:
                progress.update(task, description=f"round {number + 1} {run.__name__}")
                result = await run(args.rate, args.seconds)
                pair[result["mode"]] = result
                progress.console.print(line(result))
                progress.advance(task)
            rounds.append(pair)
        feed_p99 = statistics.median(r["feed"]["p99_ms"] for r in rounds)
        bound = max(args.latency_floor_ms, args.latency_factor * feed_p99)
        if not args.no_sweep:
            sweeps["baseline"] = await sweep(
                run_baseline, base_steps, bound, progress, task
            )
            sweeps["feed"] = await sweep(run_feed, feed_steps, bound, progress, task)
        progress.update(task, completed=total, description="done")
    return summarize(args, rounds, sweeps, bound, feed_steps, base_steps)


def summarize(
    args: argparse.Namespace,
    rounds: list[dict[str, Any]],
    sweeps: dict[str, list[dict[str, Any]]],
    bound: float,
    feed_steps: list[float],
    base_steps: list[float],
) -> dict[str, Any]:
    def median(mode: str, name: str) -> float:
        return float(statistics.median(r[mode][name] for r in rounds))

    out: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": args.machine,
        "command": " ".join(["bench/feed.py", *sys.argv[1:]]),
        "clients": args.clients,
        "rate": args.rate,
        "seconds_per_round": args.seconds,
        "rounds": len(rounds),
        "delivered_fraction": median("feed", "delivered_fraction"),
        "p50_ms": median("feed", "p50_ms"),
        "p99_ms": median("feed", "p99_ms"),
        "rate_made": median("feed", "rate_made"),
        "daphne_cpu": median("feed", "daphne_cpu"),
        "baseline_delivered_fraction": median("baseline", "delivered_fraction"),
        "baseline_p50_ms": median("baseline", "p50_ms"),
        "baseline_p99_ms": median("baseline", "p99_ms"),
        "baseline_rate_made": median("baseline", "rate_made"),
        "baseline_daphne_cpu": median("baseline", "daphne_cpu"),
    }
    if sweeps["feed"] or sweeps["baseline"]:
        feed_rate = sustainable(sweeps["feed"], latency=True)
        base_rate = sustainable(sweeps["baseline"], latency=True)
        # A sweep that sustained its top step could go higher; one that
        # sustained no step is under its lowest: then the ratio is a bound.
        feed_higher = feed_rate == max(feed_steps)
        base_higher = base_rate == max(base_steps)
        bound_kind = {
            (False, False): "exact",
            (True, False): "lower",
            (False, True): "upper",
            (True, True): "unknown",
        }[(feed_higher or base_rate is None, base_higher)]
        ratio = (feed_rate or 0.0) / (base_rate or min(base_steps))
        out |= {
            "equal_latency": (
                f"a step is sustained when >= 99.9% of frames arrive and p99 <= "
                f"{bound:.1f} ms (the same bound for both: max("
                f"{args.latency_floor_ms:g} ms, {args.latency_factor:g} x the "
                f"feed's p99 at {args.rate:g}/s)); sweep steps of "
                f"{args.step_seconds:g} s"
            ),
            "latency_bound_ms": bound,
            "feed_sustainable_rate": feed_rate,
            "baseline_sustainable_rate": base_rate,
            "sustainable_ratio": ratio,
            "ratio_bound": bound_kind,  # exact, lower (>=), upper (<=), unknown
            "feed_rate_all_delivered": sustainable(sweeps["feed"], latency=False),
            "baseline_rate_all_delivered": sustainable(
                sweeps["baseline"], latency=False
            ),
            "sweeps": sweeps,
        }
    # Other processes on the machine change every figure: say how busy it was.
    out["load_at_end"] = [round(x, 2) for x in os.getloadavg()]
    out["per_round"] = rounds
    return out


def report(out: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(
        title=f"{out['clients']} clients x {out['rate']:g} events/s, "
        f"median of {out['rounds']} rounds"
    )
    for column in ("figure", "feed", "group_send baseline", "target", ""):
        table.add_column(column, justify="left" if column == "figure" else "right")

    def verdict(ok: bool) -> str:
        return "[green]PASS" if ok else "[red]BELOW"

    d, p = out["delivered_fraction"], out["p99_ms"]
    table.add_row(
        "delivered", f"{d:.4%}", f"{out['baseline_delivered_fraction']:.4%}",
        "100%", verdict(d >= TARGETS["delivered_fraction"]),
    )  # fmt: skip
    table.add_row("p50 ms", f"{out['p50_ms']:.1f}", f"{out['baseline_p50_ms']:.1f}")
    table.add_row(
        "p99 ms", f"{p:.1f}", f"{out['baseline_p99_ms']:.1f}", "<= 50",
        verdict(p <= TARGETS["p99_ms"]),
    )  # fmt: skip
    if "sustainable_ratio" in out:
        ge = {"lower": ">= ", "upper": "<= ", "unknown": "? "}.get(
            out["ratio_bound"], ""
        )
        base = out["baseline_sustainable_rate"]
        table.add_row(
            "sustainable /s",
            f"{out['feed_sustainable_rate'] or 0:g}",
            f"{base:g}" if base else "< lowest step",
        )
        every = (out["feed_rate_all_delivered"], out["baseline_rate_all_delivered"])
        table.add_row(
            "all delivered /s (any latency)",
            *(f"{rate:g}" if rate else "< lowest step" for rate in every),
        )
        table.add_row(
            "ratio", f"{ge}{out['sustainable_ratio']:.1f}x", "", ">= 10x",
            verdict(out["sustainable_ratio"] >= TARGETS["sustainable_ratio"]),
        )  # fmt: skip
    console = Console(width=120)
    console.print(table)
    if "equal_latency" in out:
        console.print(f"Equal latency: {out['equal_latency']}.")
    console.print(f"wrote {OUT.relative_to(common.ROOT)}")


def run(args: argparse.Namespace, url: str, tmp: str, *, flush: bool) -> dict[str, Any]:
    env = common.bench_env(url, f"sqlite:///{tmp}/feed.sqlite3", 100)
    env["LOG_LEVEL"] = "WARNING"
    common.setup_django(env, {LATENCY_TOPIC: PARTITIONS})
    from console.tokens import token_create
    from eventbus.client import get_redis
    from eventbus.topics import sync_topics

    if flush:  # BENCH_REDIS_URL: that database is the benchmark's to empty
        get_redis().flushdb()
    sync_topics()
    _, token = token_create(
        name="bench-feed", scopes=["subscribe:*"], max_connections=args.clients + 10
    )
    env["BENCH_FEED_TOKEN"] = token  # children read it; never on argv
    setup = fm.Setup(env, args.clients, args.client_procs, args.drain, args.warmup)
    args.machine = common.machine()  # before the run: load_at_start
    started = time.monotonic()
    try:
        out = asyncio.run(bench(args, setup))
    finally:
        if flush:
            get_redis().flushdb()
    out["wall_seconds"] = round(time.monotonic() - started)
    out["redis"] = "BENCH_REDIS_URL" if flush else "private redis-server"
    out["python"] = platform.python_version()
    return out


def main() -> None:
    args = parse_args()
    LOGS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        explicit = os.environ.get("BENCH_REDIS_URL")
        redis_server = None if explicit else fm.PrivateRedis(tmp)
        url = explicit or (redis_server.url if redis_server else "")
        try:
            out = run(args, url, tmp, flush=bool(explicit))
        finally:
            if redis_server is not None:
                redis_server.stop()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2))
    report(out)


if __name__ == "__main__":
    main()
