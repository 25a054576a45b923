"""The feed under a real Daphne: close reasons on the wire, slow clients, fan-out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from console.feed.protocol import SUBPROTOCOL
from console.tokens import token_create
from eventbus import publish_many
from tests.feed.conftest import PLACED
from tests.processes import DaphneServer

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def daphne(orders, tmp_path: Path) -> Iterator[DaphneServer]:
    """Daphne serving the feed with its default buffer."""
    server = DaphneServer(tmp_path).start()
    yield server
    server.stop()


def ws_url(server: DaphneServer) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/v1/events"


async def subscribe(url: str, token: str, **kw) -> object:
    socket = await connect(
        url,
        additional_headers={"Authorization": f"Bearer {token}"},
        subprotocols=[SUBPROTOCOL],
        **kw,
    )
    assert socket.subprotocol == SUBPROTOCOL
    assert '"authenticated"' in await socket.recv()
    await socket.send('{"op": "subscribe", "id": "s", "topics": ["orders"]}')
    assert '"subscribed"' in await socket.recv()
    assert '"live"' in await socket.recv()
    return socket


def test_close_code_and_reason_reach_the_client(daphne) -> None:
    """A bad token is closed with 1008 and the reason in the close frame itself."""

    async def run() -> tuple[int | None, str]:
        socket = await connect(
            ws_url(daphne),
            additional_headers={"Authorization": "Bearer sy_wrong"},
            subprotocols=[SUBPROTOCOL],
        )
        try:
            while True:
                await socket.recv()
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code, closed.rcvd.reason

    code, reason = asyncio.run(run())
    assert code == 1008
    assert "malformed" in reason


def test_a_stalled_client_is_closed_while_a_fast_one_gets_everything(daphne) -> None:
    """A client that stops reading is closed with 4008; a fast one misses nothing."""
    raw = token_create(name="fanout", scopes=["subscribe:*"])[1]
    total, blob = 20_000, "x" * 2000

    async def run() -> tuple[int, int | None, str]:
        url = ws_url(daphne)
        fast = await subscribe(url, raw)
        # max_queue=1: the library stops reading the socket once one frame
        # waits, so the kernel buffers fill and Daphne's transport backs up.
        stalled = await subscribe(url, raw, max_queue=1)

        async def publish() -> None:
            # About 5,000 events/s (10 MB/s): a steady rate a live client keeps.
            for start in range(0, total, 100):
                batch = [
                    {"topic": "orders", "type": PLACED, "data": {"n": i, "pad": blob}}
                    for i in range(start, start + 100)
                ]
                await asyncio.to_thread(publish_many, batch)
                await asyncio.sleep(0.02)

        async def drain() -> int:
            seen = 0
            while seen < total:
                frame = await asyncio.wait_for(fast.recv(), timeout=20)
                assert '"specversion"' in frame, frame[:200]
                seen += 1
            return seen

        seen, _ = await asyncio.gather(drain(), publish())
        got, code = 0, None
        try:
            while True:
                frame = await asyncio.wait_for(stalled.recv(), timeout=20)
                got += '"specversion"' in frame
        except ConnectionClosed as closed:
            # A client that never reads cannot take the close frame queued
            # behind its unread data: after autobahn's close-handshake timeout
            # the server drops the TCP connection (no close frame: 1006).
            code = closed.rcvd.code if closed.rcvd else None
        await fast.close()
        return seen, got, code

    seen, got, code = asyncio.run(run())
    assert seen == total
    assert got < total
    assert code in (4008, None)
    assert "closed as slow" in daphne.tail(200)
