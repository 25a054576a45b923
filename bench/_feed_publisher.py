"""Publish at a steady rate for bench/feed.py, each event stamped with its send time.

Run by bench/feed.py in its own process::

    python bench/_feed_publisher.py MODE RATE SECONDS

MODE ``feed``: ``eventbus.publish_many`` of the events due every 2 ms to the
latency topic (the feed's Daphne reads them from Redis). MODE ``baseline``:
one channels_redis ``group_send`` per event to the group the baseline
sockets joined. Either way ``data.sent_ns`` is ``time.time_ns()`` taken just
before the call that hands the event over. Prints ``publishing <time_ns>``
when it starts, and one JSON line at the end:
``{"published": N, "seconds": wall, "rate_made": N / wall}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.consume_app.names import LATENCY_TOPIC  # noqa: E402

TICK = 0.002  # seconds between checks of what is due


def due(start: float, rate: float, total: int) -> int:
    return int((time.monotonic() - start) * rate) + 1 - total


def publish_feed(rate: float, seconds: float) -> int:
    from bench.consume_app.names import LATENCY_TYPE
    from bench.publish import make_data
    from eventbus import Outgoing, publish_many

    total, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        n = due(start, rate, total)
        if n > 0:
            sent = time.time_ns()
            publish_many(
                [
                    Outgoing(
                        LATENCY_TOPIC,
                        LATENCY_TYPE,
                        {**make_data(i), "sent_ns": sent},
                        key=f"k{i % 5000}",
                    )
                    for i in range(total, total + n)
                ]
            )
            total += n
        time.sleep(TICK)
    return total


async def publish_baseline(rate: float, seconds: float) -> int:
    import orjson
    from channels.layers import get_channel_layer

    from bench._feed_baseline import GROUP
    from bench.consume_app.names import LATENCY_TYPE
    from bench.publish import make_data
    from eventbus.envelope import new_event_id, now_rfc3339

    layer = get_channel_layer()
    assert layer is not None
    total, start = 0, time.monotonic()
    while time.monotonic() - start < seconds:
        for i in range(total, total + max(0, due(start, rate, total))):
            # The same CloudEvent the feed would send, minus the sy* attributes.
            sent = time.time_ns()
            text = orjson.dumps(
                {
                    "specversion": "1.0",
                    "id": new_event_id(),
                    "source": "/bench",
                    "type": LATENCY_TYPE,
                    "time": now_rfc3339(),
                    "datacontenttype": "application/json",
                    "partitionkey": f"k{i % 5000}",
                    "data": {**make_data(i), "sent_ns": sent},
                }
            ).decode()
            await layer.group_send(GROUP, {"type": "bench.event", "text": text})
            total += 1
        await asyncio.sleep(TICK)
    return total


def main() -> None:
    mode, rate, seconds = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    if mode == "feed":  # connect and load the topic before the clock starts
        from eventbus.topics import get_topic

        get_topic(LATENCY_TOPIC)
    print(f"publishing {time.time_ns()}", flush=True)  # the measurer's clocks
    began = time.monotonic()
    if mode == "feed":
        total = publish_feed(rate, seconds)
    else:
        total = asyncio.run(publish_baseline(rate, seconds))
    wall = time.monotonic() - began
    print(json.dumps({"published": total, "seconds": wall, "rate_made": total / wall}))


if __name__ == "__main__":
    main()
