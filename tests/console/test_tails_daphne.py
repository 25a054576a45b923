"""A console tail under a real Daphne: a slow browser gets a gap, not a backlog."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import Client
from websockets.asyncio.client import connect

from eventbus import publish_many, register_event_type
from tests.processes import DaphneServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TYPE = "tailtest.sent"


@pytest.fixture
def daphne(make_topic, tmp_path: Path) -> Iterator[DaphneServer]:
    make_topic("orders", partitions=1)
    register_event_type(TYPE, topic="orders", schema={"type": "object"})
    server = DaphneServer(tmp_path).start()
    yield server
    server.stop()


def test_a_browser_that_stops_reading_gets_a_gap_while_daphne_holds_little(
    daphne, console_users
) -> None:
    """Frames wait in the tail's small queue, not in Daphne's transport buffer."""
    client = Client()
    client.force_login(console_users["viewer"])
    cookie = client.cookies["sessionid"].value
    total, blob = 20_000, "x" * 2000

    async def run() -> tuple[int, int]:
        socket = await connect(
            f"ws://127.0.0.1:{daphne.port}/ws/console/",
            additional_headers={
                "Cookie": f"sessionid={cookie}",
                "Origin": daphne.url,
            },
            # The library stops reading the socket once one frame waits, so
            # the kernel buffers fill and Daphne's transport backs up.
            max_queue=1,
            max_size=None,
        )
        await socket.send(json.dumps({"op": "tail", "id": "t", "topic": "orders"}))
        assert json.loads(await socket.recv())["kind"] == "tailing"
        for start in range(0, total, 100):  # about 40 MB at 5,000 events/s
            batch = [
                {"topic": "orders", "type": TYPE, "data": {"n": i, "pad": blob}}
                for i in range(start, start + 100)
            ]
            await asyncio.to_thread(publish_many, batch)
            await asyncio.sleep(0.02)
        events = gaps = 0
        while True:  # now read what was kept for this browser
            try:
                frame = json.loads(await asyncio.wait_for(socket.recv(), timeout=3))
            except TimeoutError:
                break
            if frame["kind"] == "tail":
                events += len(frame["events"])
            elif frame["kind"] == "tail-gap":
                gaps += frame["skipped"]
        await socket.close()
        return events, gaps

    events, skipped = asyncio.run(run())
    assert skipped > 0, "the slow browser was never told about skipped events"
    assert events + skipped == total  # every event either shown or counted
    assert events < total // 2  # most were skipped, not buffered for it
