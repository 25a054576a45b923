"""WebSocket clients for bench/feed.py: hold COUNT sockets, time every event.

Run by bench/feed.py, one or more processes (so the clients have CPU of
their own)::

    python bench/_feed_clients.py MODE URL COUNT OUT

MODE is ``feed`` (subscribe to the topic from latest, token from the
BENCH_FEED_TOKEN environment variable) or ``baseline`` (the group_send
socket of bench/_feed_baseline.py). Prints ``ready`` once every socket is
subscribed (feed: its "live" frame has arrived), then ``progress N`` (events
received so far, all sockets) every 0.25 s. On ``stop`` (a stdin line) it
closes the sockets, writes OUT.json (per-socket counts, close codes, CPU
seconds), OUT.lat (float64 latencies in ms: arrival - the event's
``data.sent_ns``) and OUT.sent (int64: each one's ``sent_ns``), and prints
``done``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from array import array
from collections import Counter
from pathlib import Path

import orjson
import websockets
from websockets.asyncio.client import ClientConnection

TOPIC = "bench-latency"  # bench.consume_app.names.LATENCY_TOPIC (no Django here)


class Results:
    def __init__(self, count: int) -> None:
        self.received = [0] * count
        self.latencies = array("d")
        self.sent = array("q")  # the sent_ns of each latency (warm-up is cut)
        self.closes: Counter[str] = Counter()
        self.errors: list[str] = []
        self.stopping = False  # closes after "stop" are the bench's own


async def open_socket(mode: str, url: str) -> ClientConnection:
    if mode == "baseline":
        return await websockets.connect(url, max_size=None, open_timeout=60)
    ws = await websockets.connect(
        url,
        subprotocols=["cloudevents.json"],  # type: ignore[list-item]
        additional_headers={
            "Authorization": f"Bearer {os.environ['BENCH_FEED_TOKEN']}"
        },
        max_size=None,
        open_timeout=60,
    )
    await ws.send(json.dumps({"op": "subscribe", "id": "b", "topics": [TOPIC]}))
    while True:  # replay is empty at latest; "live" says the socket is attached
        frame = orjson.loads(await ws.recv(decode=False))
        if frame.get("kind") == "live":
            return ws
        if frame.get("kind") == "error":
            raise RuntimeError(f"feed refused the subscription: {frame}")


async def read(ws: ClientConnection, index: int, results: Results) -> None:
    latencies, sent, received = results.latencies, results.sent, results.received
    try:
        while True:
            frame = await ws.recv(decode=False)
            now = time.time_ns()
            event = orjson.loads(frame)
            data = event.get("data")
            if not isinstance(data, dict) or "sent_ns" not in data:
                continue  # a control frame
            received[index] += 1
            latencies.append((now - data["sent_ns"]) / 1e6)
            sent.append(data["sent_ns"])
    except websockets.ConnectionClosed as exc:
        if results.stopping:
            return
        code = exc.rcvd.code if exc.rcvd else 1006
        results.closes[str(code)] += 1
        if code not in (1000, 1001):
            results.errors.append(f"socket {index}: {exc}")


async def main() -> None:
    mode, url, count, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    results = Results(count)
    sockets: list[ClientConnection] = []
    # Connect in small waves: a burst of 100 handshakes is not what is measured.
    for first in range(0, count, 10):
        wave = range(first, min(count, first + 10))
        sockets += await asyncio.gather(*(open_socket(mode, url) for _ in wave))
    readers = [
        asyncio.create_task(read(ws, i, results)) for i, ws in enumerate(sockets)
    ]
    print("ready", flush=True)

    async def report() -> None:
        while True:
            print(f"progress {sum(results.received)}", flush=True)
            await asyncio.sleep(0.25)

    reporter = asyncio.create_task(report())
    loop = asyncio.get_running_loop()
    while (await loop.run_in_executor(None, sys.stdin.readline)).strip() != "stop":
        pass
    reporter.cancel()
    results.stopping = True
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    await asyncio.gather(*readers, return_exceptions=True)
    times = os.times()
    Path(out + ".json").write_text(
        json.dumps(
            {
                "received": results.received,
                "closes": dict(results.closes),
                "errors": results.errors[:5],
                "cpu_seconds": times.user + times.system,
            }
        )
    )
    with open(out + ".lat", "wb") as f:
        results.latencies.tofile(f)
    with open(out + ".sent", "wb") as f:
        results.sent.tofile(f)
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
