"""Consume a Switchyard feed and resume where the last run stopped.

    SWITCHYARD_TOKEN=sy_... python examples/feed_consumer.py \\
        ws://127.0.0.1:8000/ws/v1/events orders [--types 'order.*'] [--limit 10]

The positions of the last event handled are saved to ``feed-positions.json``
(``--state``) after each event, so the next run starts right after it: no
event is missed, and only a crash between handling an event and saving its
position makes the next run handle that one event again (at-least-once).
The first run starts at
``--start`` (default ``latest``: only new events). Needs ``websockets``,
``orjson`` and this repository's ``eventbus/remote.py`` (no Django, no Redis).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eventbus.remote import FeedClient  # noqa: E402


def handle(event: dict) -> None:
    """Do the work for one event (here: print it)."""
    print(event["sytopic"], event["syoffset"], event["type"], json.dumps(event["data"]))


async def consume(args: argparse.Namespace) -> None:
    state = Path(args.state)
    start = json.loads(state.read_text()) if state.exists() else args.start
    feed = FeedClient(
        args.url,
        os.environ["SWITCHYARD_TOKEN"],  # in the environment, never in the URL
        args.topics,
        types=args.types,
        start=start,
    )
    count = 0
    async for event in feed:
        handle(event.event)
        # Save after handling: a crash in between replays this one event.
        state.write_text(json.dumps(feed.positions))
        count += 1
        if args.limit and count >= args.limit:
            break
    print(f"handled {count}; next run resumes after {feed.positions}", file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="ws(s)://HOST/ws/v1/events")
    parser.add_argument("topics", nargs="+")
    parser.add_argument("--types", action="append", help="type pattern, e.g. order.*")
    parser.add_argument("--start", default="latest", help="first run: latest/earliest")
    parser.add_argument("--state", default="feed-positions.json")
    parser.add_argument("--limit", type=int, help="stop after this many events")
    # Ctrl-C is a normal stop: the positions file holds the last event handled.
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(consume(parser.parse_args()))


if __name__ == "__main__":
    main()
