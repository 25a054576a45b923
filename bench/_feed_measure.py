"""One measurement of bench/feed.py: clients connected, a steady publisher, results.

The clients run in ``procs`` processes of their own (bench/_feed_clients.py)
and the publisher in another (bench/_feed_publisher.py), so the process
being measured (Daphne) competes with them for the 2 cores but not for its
event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _consume_common as common

BENCH = common.ROOT / "bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class PrivateRedis:
    """A redis-server of the benchmark's own (no persistence), in a temp dir."""

    def __init__(self, directory: str) -> None:
        self.port = free_port()
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed; run 'make setup'.")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--dir", directory, "--save", ""]
            + ["--appendonly", "no", "--bind", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise SystemExit(f"redis-server did not listen on {self.port}")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


def start_daphne(app: str, env: dict[str, str], log: Path) -> tuple[Any, int]:
    """Start one Daphne process serving ``app``; return it and its port."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "daphne"), "-b", "127.0.0.1"]
            + ["-p", str(port), app],
            cwd=common.ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"daphne {app} exited; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return process, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"daphne {app} did not listen on {port}; see {log}")


@dataclass
class Setup:
    """What every measurement needs: where to connect, with what."""

    env: dict[str, str]
    clients: int
    procs: int
    drain: float  # seconds to wait at most for the last frames
    warmup: float  # seconds of events at the start left out of the latencies


class ClientProcess:
    """One bench/_feed_clients.py process and what it has reported."""

    def __init__(self, process: asyncio.subprocess.Process, out: str) -> None:
        self.process, self.out = process, out
        self.received = 0
        self.ready, self.done = asyncio.Event(), asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode().split()
            if line[:1] == ["ready"]:
                self.ready.set()
            elif line[:1] == ["progress"]:
                self.received = int(line[1])
            elif line[:1] == ["done"]:
                self.done.set()
        self.ready.set()  # exited: do not wait forever (the results will say)
        self.done.set()

    async def stop(self) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(b"stop\n")
        await self.process.stdin.drain()
        await asyncio.wait_for(self.done.wait(), 60)
        await self.process.wait()
        path = Path(self.out + ".json")
        if not path.exists():
            return {"received": [], "closes": {}, "errors": ["client crashed"]}
        result: dict[str, Any] = json.loads(path.read_text())
        for name, suffix, kind in (("latencies", "lat", "d"), ("sent", "sent", "q")):
            values = array(kind)
            with open(f"{self.out}.{suffix}", "rb") as f:
                values.frombytes(f.read())
            result[name] = values
        return result


async def measure(
    setup: Setup, mode: str, url: str, daphne_pid: int, rate: float, seconds: float
) -> dict[str, Any]:
    """Connect the clients, publish ``rate``/s for ``seconds``, collect figures."""
    tmp = tempfile.mkdtemp(prefix="feed-bench-")
    shares = [len(range(n, setup.clients, setup.procs)) for n in range(setup.procs)]
    clients = []
    for n, count in enumerate(c for c in shares if c):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            str(BENCH / "_feed_clients.py"),
            mode,
            url,
            str(count),
            f"{tmp}/clients-{n}",
            env=setup.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        clients.append(ClientProcess(process, f"{tmp}/clients-{n}"))
    await asyncio.wait_for(asyncio.gather(*(c.ready.wait() for c in clients)), 120)
    await asyncio.sleep(0.5)
    pids = [daphne_pid, *(c.process.pid for c in clients)]
    publisher = await asyncio.create_subprocess_exec(
        sys.executable,
        str(BENCH / "_feed_publisher.py"),
        mode,
        str(rate),
        str(seconds),
        env=setup.env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert publisher.stdout is not None
    # "publishing <time_ns>": set up; the clocks start, and the warm-up ends
    # setup.warmup seconds later.
    started_ns = int((await publisher.stdout.readline()).split()[1])
    warm_ns = started_ns + int(setup.warmup * 1e9)
    cpu0, wall0 = [cpu_seconds(pid) for pid in pids], time.monotonic()
    stdout, _ = await publisher.communicate()
    published = json.loads(stdout.decode().strip().splitlines()[-1])
    expected = published["published"] * setup.clients
    # Wait for the last frames: until all arrived, or nothing came for 1 s.
    last, still_since = -1, time.monotonic()
    deadline = time.monotonic() + setup.drain
    while time.monotonic() < deadline:
        got = sum(c.received for c in clients)
        if got >= expected or time.monotonic() - still_since > 1.0:
            break
        if got != last:
            last, still_since = got, time.monotonic()
        await asyncio.sleep(0.05)
    wall = time.monotonic() - wall0
    cpu = [(cpu_seconds(pid) - c0) / wall for pid, c0 in zip(pids, cpu0, strict=True)]
    results = [await c.stop() for c in clients]
    shutil.rmtree(tmp, ignore_errors=True)
    latencies = sorted(
        lat
        for r in results
        for lat, sent in zip(r.get("latencies", ()), r.get("sent", ()), strict=True)
        if sent >= warm_ns
    )
    received = sum(sum(r["received"]) for r in results)
    closes: dict[str, int] = {}
    for r in results:
        for code, n in r["closes"].items():
            closes[code] = closes.get(code, 0) + n

    def pct(q: float) -> float:
        return common.percentile(latencies, q * 100)

    return {
        "mode": mode,
        "rate": rate,
        "rate_made": round(published["rate_made"], 1),
        "published": published["published"],
        "expected": expected,
        "received": received,
        "delivered_fraction": received / expected if expected else float("nan"),
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": pct(1.0),
        "closes": closes,
        "errors": [e for r in results for e in r.get("errors", [])][:5],
        "daphne_cpu": round(cpu[0], 2),
        "clients_cpu": [round(c, 2) for c in cpu[1:]],
    }
