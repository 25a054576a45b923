"""The consumer benchmark's result: medians, the JSON document and the table."""

from __future__ import annotations

import statistics
from typing import Any

TARGETS = {"raw_ratio": 0.40, "celery_ratio": 20.0, "p50_ms": 2.0, "p99_ms": 10.0}


def summarise(
    drain: dict[str, list[Any]],
    idem: dict[str, Any],
    workers: dict[str, list[float]],
    latency: dict[str, Any],
) -> dict[str, Any]:
    """Return the figures of bench/out/consume.json (medians of the rounds)."""
    rates = {k: v for k, v in {**drain, **workers}.items() if not k.endswith("_gc")}
    med = {k: statistics.median(v) for k, v in rates.items()}
    result: dict[str, Any] = {
        "raw_ratio": round(med["ours"] / med["raw"], 3),
        "celery_ratio": round(med["worker"] / med["celery"], 2),
        "p50_ms": latency["p50_ms"],
        "p99_ms": latency["p99_ms"],
        "ours_per_s": round(med["ours"]),
        "raw_per_s": round(med["raw"]),
        "ours_default_batch_per_s": round(med["ours_default"]),
        "default_batch_raw_ratio": round(med["ours_default"] / med["raw"], 3),
        "worker_per_s": round(med["worker"]),
        "celery_per_s": round(med["celery"]),
        # What ours adds per event, less dependent on the machine than the ratio.
        "overhead_us": round(1e6 / med["ours"] - 1e6 / med["raw"], 2),
    }
    for name, found in idem.items():
        got = found.get("rates")
        result[f"idempotent_{name}_per_s"] = (
            round(statistics.median(got)) if got else None
        )
    result["latency"] = latency
    result["idempotent"] = idem
    # Per round: (ms the garbage collector paused this process, full collections).
    result["gc_pauses"] = {k[:-3]: v for k, v in drain.items() if k.endswith("_gc")}
    result["per_round"] = {k: [round(x) for x in v] for k, v in rates.items()}
    return result


def _verdict(ok: bool) -> str:
    return "[green]PASS" if ok else "[red]BELOW"


def report(result: dict[str, Any]) -> None:
    """Print the results table with PASS/BELOW per target."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"consumer runtime, median of {result['rounds']} rounds")
    for column in ("measurement", "ours", "baseline", "figure", "target", ""):
        table.add_column(column, justify="left" if column == "measurement" else "right")
    batch, worker_batch = result["batch_size"], result["worker_batch_size"]
    ratio = result["raw_ratio"]
    table.add_row(
        f"1. drain, no-op, batch {batch} vs raw XREADGROUP COUNT 1000",
        f"{result['ours_per_s']:,}/s",
        f"{result['raw_per_s']:,}/s",
        f"{ratio:.2f}",
        f">= {TARGETS['raw_ratio']:.2f}",
        _verdict(ratio >= TARGETS["raw_ratio"]),
    )
    default = result["default_batch_raw_ratio"]
    table.add_row(
        "   same, batch 100 (BUS_BATCH_SIZE default)",
        f"{result['ours_default_batch_per_s']:,}/s",
        f"{result['raw_per_s']:,}/s",
        f"{default:.2f}",
        f">= {TARGETS['raw_ratio']:.2f}",
        _verdict(default >= TARGETS["raw_ratio"]),
    )
    for name, found in result["idempotent"].items():
        figure = result.get(f"idempotent_{name}_per_s")
        table.add_row(
            f"2. drain, idempotency on, batch {batch}, "
            f"{found.get('server') or name} ({found.get('events', '-')} events)",
            f"{figure:,}/s" if figure else found.get("skipped", "-"),
            "",
            "",
            "report",
            "",
        )
    celery = result["celery_ratio"]
    table.add_row(
        f"3. Celery worker --bus-group (batch {worker_batch}) vs plain Celery tasks",
        f"{result['worker_per_s']:,}/s",
        f"{result['celery_per_s']:,}/s",
        f"{celery:.1f}x",
        f">= {TARGETS['celery_ratio']:.0f}x",
        _verdict(celery >= TARGETS["celery_ratio"]),
    )
    latency = result["latency"]
    for key in ("p50_ms", "p99_ms"):
        table.add_row(
            f"4. publish -> handler start, {key[:3]} "
            f"({latency['rate_made']:,.0f}/s, {latency['events']} events)",
            f"{latency[key]:.2f} ms",
            "",
            "",
            f"<= {TARGETS[key]:.0f} ms",
            _verdict(latency[key] <= TARGETS[key]),
        )
    console = Console(width=130)
    console.print(table)
    console.print(
        f"Latency p90 {latency['p90_ms']:.2f} ms, p99.9 {latency['p999_ms']:.2f} ms, "
        f"max {latency['max_ms']:.2f} ms. Ours adds {result['overhead_us']:.1f} µs "
        f"per event over raw (batch {batch}). Redis {result['redis_version']} at "
        f"{result['redis_url']}; {result['events']:,} events per drain."
    )
    pauses = {
        name: statistics.median(ms for ms, _ in rounds)
        for name, rounds in result["gc_pauses"].items()
    }
    console.print(
        "Garbage-collector pauses per drain (median ms): "
        + ", ".join(f"{name} {ms:.0f}" for name, ms in pauses.items())
    )
