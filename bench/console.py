"""Console push latency under load: live tails and lag updates from one Daphne.

Run from the repository root::

    .venv/bin/python bench/console.py [--rate 2000] [--seconds 20] [--rounds 3]

One Daphne process serves the console. A publisher process keeps the bus at
``--rate`` events/s on a 4-partition topic while ``--dashboards`` sockets
watch the sampled overview and ``--tails`` sockets tail the topic. Measured
per round:

- tail: publish (the envelope's ``time``) → the event's tail frame arriving,
  for every event on every tail socket. Baseline in the same run: a raw
  redis-py ``XREAD BLOCK`` loop on the same streams in this process.
- lag update: a consumer group nobody consumes has lag = events published
  since it was created; for every change of that lag a dashboard socket
  sees, the time since the publisher's count first reached that value.
- daphne_cpu: the Daphne process's CPU time over wall time (1.0 = one core).

Figures are medians over the rounds of each round's p50/p99. Writes
bench/out/console.json. Redis: BENCH_REDIS_URL, else database 14 of
REDIS_URL; that database is FLUSHED before and after. The database is a
temporary SQLite file.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import itertools
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import _consume_common as common  # noqa: E402
from bench.consume_app.names import PARTITIONS, TOPIC  # noqa: E402
from bench.publish import bench_url  # noqa: E402

OUT = common.ROOT / "bench" / "out" / "console.json"
LOGS = common.ROOT / "bench" / "out" / "console-logs"
TARGETS = {"tail_p99_ms": 500.0, "lag_update_p99_ms": 1500.0}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add = parser.add_argument
    add("--rate", type=float, default=2000.0, help="events/s published")
    add("--seconds", type=float, default=20.0, help="length of one round")
    add("--rounds", type=int, default=3, help="rounds (medians are reported)")
    add("--dashboards", type=int, default=20, help="sockets watching the overview")
    add("--tails", type=int, default=5, help="sockets tailing the topic")
    return parser.parse_args()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def event_time(envelope: dict[str, Any]) -> float:
    return datetime.fromisoformat(envelope["time"].replace("Z", "+00:00")).timestamp()


# --- what the dashboards see --------------------------------------------------


def group_lag(state: dict[str, Any], topic: str, group: str) -> int | None:
    """Return the group's undelivered count from the console's sampled state."""
    row = (state.get("groups") or {}).get(f"{topic}/{group}") or {}
    lag = row.get("undelivered")
    return int(lag) if lag is not None else None


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7386 merge patch, as console.js does."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(target, dict):
        target = {}
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = merge_patch(target.get(key), value)
    return target


class Observed:
    """What the sockets of one round saw (appended from the event loop)."""

    def __init__(self) -> None:
        self.tail_ms: list[float] = []
        # Per dashboard socket: (arrival, lag) for every change it saw.
        self.lag_seen: list[list[tuple[float, int]]] = []
        self.raw_ms: list[float] = []
        self.gap_events = 0  # events the server reported skipping (tail-gap)
        self.errors: list[str] = []


async def dashboard(
    url: str, headers: dict[str, str], group: str, seen: Observed, stop: asyncio.Event
) -> None:
    import websockets

    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        await ws.send(json.dumps({"op": "watch", "feeds": ["overview"]}))
        state: Any = {}
        last: int | None = None
        changes: list[tuple[float, int]] = []
        seen.lag_seen.append(changes)
        while not stop.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            arrived = time.time()
            message = json.loads(frame)
            if message.get("kind") != "sample":
                continue
            data = message["data"]
            state = data if message.get("full") else merge_patch(state, data)
            lag = group_lag(state, TOPIC, group)
            if lag is not None and lag != last:
                changes.append((arrived, lag))
                last = lag


async def tail(
    url: str, headers: dict[str, str], seen: Observed, stop: asyncio.Event
) -> None:
    import websockets

    async with websockets.connect(url, additional_headers=headers, max_size=None) as ws:
        await ws.send(
            json.dumps({"op": "tail", "id": "bench", "topic": TOPIC, "from": "latest"})
        )
        while not stop.is_set():
            try:
                frame = await asyncio.wait_for(ws.recv(), 0.5)
            except TimeoutError:
                continue
            arrived = time.time()
            message = json.loads(frame)
            if message.get("kind") == "error":
                seen.errors.append(message.get("message", ""))
            if message.get("kind") == "tail-gap":
                seen.gap_events += int(message.get("skipped", 0))
            if message.get("kind") != "tail":
                continue
            for item in message["events"]:
                seen.tail_ms.append((arrived - event_time(item["event"])) * 1000)


def raw_reader(url: str, seen: Observed, stop: threading.Event) -> None:
    """The baseline: XREAD BLOCK on the same streams, decoding each envelope."""
    import redis

    from eventbus.envelope import Event
    from eventbus.keys import stream_key

    client = redis.Redis.from_url(url)
    partition_of = {stream_key(TOPIC, p): p for p in range(PARTITIONS)}
    cursors = {key: "$" for key in partition_of}
    while not stop.is_set():
        reply = client.xread(cursors, count=500, block=250)
        arrived = time.time()
        # RESP3 (redis-py's default here) answers a map, RESP2 a list of pairs.
        pairs = reply.items() if isinstance(reply, dict) else reply or []
        for raw_key, entries in pairs:
            key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            for entry_id, fields in entries:
                cursors[key] = entry_id
                event = Event.from_entry(TOPIC, partition_of[key], entry_id, fields)
                seen.raw_ms.append((arrived - event_time(event.to_dict())) * 1000)
    client.close()


# --- one round ----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def lag_latencies(seen: Observed, publisher_log: Path) -> list[float]:
    """For every publish batch and socket: time until the socket saw its lag.

    A batch at time t takes the group's lag to n (nobody consumes); the
    update for it is the first pushed sample showing lag >= n. This counts
    the wait for the next sample as well as the push itself.
    """
    batches = [line.split() for line in publisher_log.read_text().splitlines()]
    latencies = []
    for changes in seen.lag_seen:
        arrivals = [arrived for arrived, _ in changes]
        lags = [lag for _, lag in changes]
        # Lags only grow here; the running maximum keeps bisect valid anyway.
        peaks = list(itertools.accumulate(lags, max))
        for t, n in batches:
            i = bisect.bisect_left(peaks, int(n))
            if i < len(peaks):
                latencies.append((arrivals[i] - float(t)) * 1000)
    return latencies


def run_round(
    args: argparse.Namespace,
    env: dict[str, str],
    port: int,
    cookie: str,
    daphne_pid: int,
    number: int,
) -> dict[str, Any]:
    from eventbus import create_group

    group = f"bench-idle-{number}"
    create_group(TOPIC, group, start="latest")
    time.sleep(1.5)  # the sampler picks the new group up
    seen = Observed()
    url = f"ws://127.0.0.1:{port}/ws/console/"
    headers = {"Origin": f"http://127.0.0.1:{port}", "Cookie": f"sessionid={cookie}"}
    log = LOGS / f"publisher-{number}.log"

    async def measure() -> float:
        stop = asyncio.Event()
        tasks = [
            asyncio.create_task(dashboard(url, headers, group, seen, stop))
            for _ in range(args.dashboards)
        ]
        tasks += [
            asyncio.create_task(tail(url, headers, seen, stop))
            for _ in range(args.tails)
        ]
        await asyncio.sleep(1.0)  # sockets connected and first samples in
        raw_stop = threading.Event()
        raw = threading.Thread(
            target=raw_reader, args=(env["REDIS_URL"], seen, raw_stop)
        )
        raw.start()
        cpu0, wall0 = cpu_seconds(daphne_pid), time.monotonic()
        publisher = await asyncio.create_subprocess_exec(
            sys.executable,
            str(common.ROOT / "bench" / "_console_publisher.py"),
            str(args.rate),
            str(args.seconds),
            str(log),
            env=env,
        )
        await publisher.wait()
        await asyncio.sleep(1.5)  # the last frames and samples arrive
        share = (cpu_seconds(daphne_pid) - cpu0) / (time.monotonic() - wall0)
        stop.set()
        raw_stop.set()
        await asyncio.gather(*tasks, return_exceptions=False)
        raw.join()
        return share

    daphne_cpu = asyncio.run(measure())
    lag_ms = lag_latencies(seen, log)
    published = int(log.read_text().splitlines()[-1].split()[1])
    return {
        "published": published,
        "tail_frames_events": len(seen.tail_ms),
        "tail_expected_events": published * args.tails,
        "tail_gap_events": seen.gap_events,
        "tail_p50_ms": percentile(seen.tail_ms, 0.50),
        "tail_p99_ms": percentile(seen.tail_ms, 0.99),
        "raw_p50_ms": percentile(seen.raw_ms, 0.50),
        "raw_p99_ms": percentile(seen.raw_ms, 0.99),
        "lag_updates": len(lag_ms),
        "lag_update_p50_ms": percentile(lag_ms, 0.50),
        "lag_update_p99_ms": percentile(lag_ms, 0.99),
        "daphne_cpu": daphne_cpu,
        "errors": seen.errors[:5],
    }


def session_cookie() -> str:
    from django.contrib.auth import get_user_model
    from django.test import Client

    user, _ = get_user_model().objects.get_or_create(
        username="bench", defaults={"is_superuser": True, "is_staff": True}
    )
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def main() -> None:
    args = parse_args()
    url = bench_url()
    LOGS.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = common.bench_env(url, f"sqlite:///{tmp}/console.sqlite3", 100)
        env["LOG_LEVEL"] = "WARNING"
        common.setup_django(env, {TOPIC: PARTITIONS})
        from eventbus.client import get_redis

        client = get_redis()
        client.flushdb()
        from eventbus.topics import sync_topics

        sync_topics()
        cookie = session_cookie()
        port = free_port()
        with (LOGS / "daphne.log").open("wb") as daphne_log:
            daphne = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "daphne"),
                    "-b",
                    "127.0.0.1",
                    "-p",
                    str(port),
                    "config.asgi:application",
                ],
                cwd=common.ROOT,
                env=env,
                stdout=daphne_log,
                stderr=subprocess.STDOUT,
            )
        try:
            time.sleep(3)
            rounds = []
            for number in range(1, args.rounds + 1):
                result = run_round(args, env, port, cookie, daphne.pid, number)
                rounds.append(result)
                print(
                    f"round {number}: tail p50 {result['tail_p50_ms']:.0f} ms "
                    f"p99 {result['tail_p99_ms']:.0f} ms (raw p99 "
                    f"{result['raw_p99_ms']:.1f} ms); lag update p50 "
                    f"{result['lag_update_p50_ms']:.0f} ms p99 "
                    f"{result['lag_update_p99_ms']:.0f} ms; daphne cpu "
                    f"{result['daphne_cpu']:.2f}; tail events "
                    f"{result['tail_frames_events']}/{result['tail_expected_events']} "
                    f"(reported skipped: {result['tail_gap_events']})"
                )
        finally:
            daphne.terminate()
            daphne.wait(10)
            client.flushdb()
    report(args, url, rounds)


def report(args: argparse.Namespace, url: str, rounds: list[dict[str, Any]]) -> None:
    def median(name: str) -> float:
        return statistics.median(r[name] for r in rounds)

    out = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "rate": args.rate,
        "seconds_per_round": args.seconds,
        "rounds": len(rounds),
        "dashboards": args.dashboards,
        "tails": args.tails,
        **{
            name: median(name)
            for name in (
                "tail_p50_ms",
                "tail_p99_ms",
                "raw_p50_ms",
                "raw_p99_ms",
                "lag_update_p50_ms",
                "lag_update_p99_ms",
                "daphne_cpu",
            )
        },
        "tail_delivered_fraction": statistics.median(
            r["tail_frames_events"] / max(1, r["tail_expected_events"]) for r in rounds
        ),
        "per_round": rounds,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2))
    print()
    print(f"{'figure':<22}{'median':>12}{'target':>12}  verdict")
    for name in (
        "tail_p50_ms",
        "tail_p99_ms",
        "lag_update_p50_ms",
        "lag_update_p99_ms",
        "daphne_cpu",
    ):
        target = TARGETS.get(name)
        verdict = "" if target is None else ("PASS" if out[name] <= target else "BELOW")
        shown = f"≤ {target:.0f}" if target else ""
        print(f"{name:<22}{out[name]:>12.2f}{shown:>12}  {verdict}")
    print(
        f"tail p99 against raw XREAD p99: {out['tail_p99_ms'] / out['raw_p99_ms']:.1f}×"
        f" (raw {out['raw_p99_ms']:.1f} ms)"
    )
    print(f"wrote {OUT.relative_to(common.ROOT)}")


if __name__ == "__main__":
    main()
