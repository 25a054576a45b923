"""The console socket through the real routing stack: auth, origin, samples, tails."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client

from console.diff import merge_apply
from console.routing import websocket_urlpatterns
from eventbus import publish, register_event_type
from eventbus.partitioning import partition_for
from eventbus.reading import select_partitions
from eventbus.topics import get_topic, invalidate_topic_cache, set_partitions

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

APP = URLRouter(websocket_urlpatterns)
SENT, OTHER = "livetest.sent", "livetest.other"


@pytest.fixture
def session_of(console_users) -> Any:
    """Return the session cookie of a user logged in as a role."""

    def make(role: str) -> str:
        client = Client()
        client.force_login(console_users[role])
        return client.cookies["sessionid"].value

    return make


@pytest.fixture
def orders(make_topic, settings) -> str:
    """A 4-partition topic with two event types, sampled every 0.1 s."""
    settings.CONSOLE = {"SAMPLE_SECONDS": 0.1}
    make_topic("orders", partitions=4)
    for name in (SENT, OTHER):
        register_event_type(name, topic="orders", schema={"type": "object"})
    return "orders"


def socket(cookie: str | None, origin: str = "http://localhost") -> Any:
    headers = [(b"host", b"localhost"), (b"origin", origin.encode())]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(APP, "/ws/console/", headers=headers)


async def opened(cookie: str) -> Any:
    communicator = socket(cookie)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def receive_kind(communicator: Any, kind: str, timeout: float = 5) -> dict:
    """Return the next frame of ``kind``, skipping others (e.g. samples)."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["kind"] == kind:
            return frame


async def publish_many(count: int, kind: str = SENT, **fields: Any) -> list[str]:
    def run() -> list[str]:
        return [
            publish("orders", kind, {"n": n}, key=f"k{n}", **fields).event_id
            for n in range(count)
        ]

    return await sync_to_async(run, thread_sensitive=False)()


async def test_anonymous_socket_is_closed_4401(db) -> None:
    """A socket without a session is refused with close code 4401."""
    communicator = socket(None)
    connected, code = await communicator.connect(timeout=5)
    assert (connected, code) == (False, 4401)


async def test_logout_and_a_lost_role_close_an_open_socket(
    session_of, console_users, settings
) -> None:
    """The session and role are checked again while the socket stays open."""
    settings.CONSOLE = {**settings.CONSOLE, "RECHECK_SECONDS": 0.2}
    viewer_cookie = await sync_to_async(session_of)("viewer")
    operator_cookie = await sync_to_async(session_of)("operator")
    as_viewer = await opened(viewer_cookie)
    as_operator = await opened(operator_cookie)
    assert await as_viewer.receive_nothing(timeout=0.5)  # checks pass: stays open

    def log_out_and_demote() -> None:
        Session.objects.filter(session_key=viewer_cookie).delete()  # a logout
        console_users["operator"].groups.clear()

    await sync_to_async(log_out_and_demote)()
    for communicator, code in ((as_viewer, 4401), (as_operator, 4403)):
        closed = await communicator.receive_output(timeout=3)
        assert closed == {"type": "websocket.close", "code": code}


async def test_user_without_role_is_closed_4403(session_of) -> None:
    """A logged-in user with no console role is refused with 4403."""
    communicator = socket(await sync_to_async(session_of)("nobody"))
    connected, code = await communicator.connect(timeout=5)
    assert (connected, code) == (False, 4403)


async def test_cross_origin_socket_is_refused(session_of) -> None:
    """A page on another site cannot open a socket with the user's cookie."""
    cookie = await sync_to_async(session_of)("admin")
    communicator = socket(cookie, origin="http://evil.example")
    connected, _ = await communicator.connect(timeout=5)
    assert connected is False


async def test_viewer_gets_a_full_sample_then_diffs(session_of, orders) -> None:
    """Watching gives the whole snapshot once, then merge patches that apply."""
    communicator = await opened(await sync_to_async(session_of)("viewer"))
    await communicator.send_json_to({"op": "watch", "feeds": ["overview"]})
    first = await receive_kind(communicator, "sample")
    assert first["full"] is True
    state = first["data"]
    assert state["health"]["redis"]["ok"] is True
    assert state["topics"]["orders"]["length"] == 0
    await publish_many(5)
    for _ in range(50):
        frame = await receive_kind(communicator, "sample")
        assert frame["full"] is False and frame["seq"] > first["seq"]
        state = merge_apply(state, frame["data"])
        if state["topics"]["orders"]["length"] == 5:
            break
    assert state["topics"]["orders"]["length"] == 5
    await communicator.disconnect()


async def test_tail_frames_arrive_in_order_with_positions(
    session_of, orders, monkeypatch
) -> None:
    """100 events over 4 partitions: every one arrives, in order per partition."""
    # 100 single publishes can make 100 reads; on a loaded machine more than
    # MAX_QUEUED of them may wait, and skipping reads (tested in
    # test_consumers_tails.py) is not what this test is about.
    monkeypatch.setattr("console.tails.MAX_QUEUED", 1000)
    communicator = await opened(await sync_to_async(session_of)("viewer"))
    await communicator.send_json_to({"op": "tail", "id": "t1", "topic": "orders"})
    ack = await receive_kind(communicator, "tailing")
    assert ack["partitions"] == [0, 1, 2, 3]
    sent = await publish_many(100)
    seen: list[str] = []
    ids: dict[int, list[tuple[int, int]]] = defaultdict(list)
    while len(seen) < 100:
        frame = await receive_kind(communicator, "tail")
        assert frame["id"] == "t1"
        for item in frame["events"]:
            position = item["position"]
            assert position["topic"] == "orders"
            ms, seq = position["id"].split("-")
            ids[position["partition"]].append((int(ms), int(seq)))
            seen.append(item["event"]["id"])
        for partition, last in frame["positions"].items():
            if ids[int(partition)]:
                ms, seq = ids[int(partition)][-1]
                assert last == f"{ms}-{seq}"
    assert sorted(seen) == sorted(sent)
    assert len(ids) == 4
    for partition_ids in ids.values():
        assert partition_ids == sorted(set(partition_ids))  # strictly increasing
    await communicator.disconnect()


async def test_tail_filters_by_type_key_and_subject(session_of, orders) -> None:
    """Only events matching the type pattern, key and subject are sent."""
    communicator = await opened(await sync_to_async(session_of)("viewer"))
    await communicator.send_json_to(
        {"op": "tail", "id": "t1", "topic": "orders", "types": ["*.sent"]}
    )
    await receive_kind(communicator, "tailing")
    await communicator.send_json_to(
        {"op": "tail", "id": "t2", "topic": "orders", "key": "k3", "subject": "s"}
    )
    ack = await receive_kind(communicator, "tailing")
    own = select_partitions(await sync_to_async(get_topic)("orders"), None, "k3")
    assert ack["partitions"] == own
    await publish_many(4, kind=OTHER)
    await publish_many(4, kind=OTHER, subject="s")
    await publish_many(2, kind=SENT)
    by_tail: dict[str, list[dict]] = defaultdict(list)
    while len(by_tail["t1"]) < 2 or len(by_tail["t2"]) < 1:
        frame = await receive_kind(communicator, "tail")
        by_tail[frame["id"]].extend(item["event"] for item in frame["events"])
    assert {e["type"] for e in by_tail["t1"]} == {SENT}
    assert len(by_tail["t1"]) == 2
    assert [(e["partitionkey"], e["subject"]) for e in by_tail["t2"]] == [("k3", "s")]
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_tails_follow_partitions_added_while_open(
    session_of, orders, settings
) -> None:
    """After the topic grows, a tail of all partitions and a key's tail go on."""
    settings.BUS = {**settings.BUS, "TOPIC_CACHE_SECONDS": 0.2}
    # A key that moves to one of the new partitions when 4 become 6.
    key = next(
        k
        for k in (f"mover-{n}" for n in range(1000))
        if partition_for(k, 6) >= 4 and partition_for(k, 4) != partition_for(k, 6)
    )
    communicator = await opened(await sync_to_async(session_of)("viewer"))
    await communicator.send_json_to({"op": "tail", "id": "all", "topic": "orders"})
    await receive_kind(communicator, "tailing")
    await communicator.send_json_to(
        {"op": "tail", "id": "key", "topic": "orders", "key": key}
    )
    assert (await receive_kind(communicator, "tailing"))["partitions"] == [
        partition_for(key, 4)
    ]
    await sync_to_async(set_partitions)("orders", 6)
    await sync_to_async(invalidate_topic_cache)()

    def run() -> list[str]:
        return [
            publish("orders", SENT, {"n": n}, key=k).event_id
            for n, k in enumerate([*(f"k{n}" for n in range(20)), key])
        ]

    sent = await sync_to_async(run, thread_sensitive=False)()
    by_tail: dict[str, list[dict]] = defaultdict(list)
    while len(by_tail["all"]) < len(sent) or not by_tail["key"]:
        frame = await receive_kind(communicator, "tail")
        by_tail[frame["id"]].extend(frame["events"])
    assert sorted(i["event"]["id"] for i in by_tail["all"]) == sorted(sent)
    assert {i["position"]["partition"] for i in by_tail["all"]} & {4, 5}
    (moved,) = by_tail["key"]
    assert moved["event"]["id"] == sent[-1]
    assert moved["position"]["partition"] == partition_for(key, 6)
    assert await communicator.receive_nothing(timeout=0.5)
    await communicator.disconnect()


async def test_untail_stops_frames(session_of, orders) -> None:
    """After untail no more tail frames arrive for that id."""
    communicator = await opened(await sync_to_async(session_of)("viewer"))
    await communicator.send_json_to({"op": "tail", "id": "t1", "topic": "orders"})
    await receive_kind(communicator, "tailing")
    await publish_many(3)
    await receive_kind(communicator, "tail")
    await communicator.send_json_to({"op": "untail", "id": "t1"})
    # Frames already queued may come before the acknowledgement, none after it.
    await receive_kind(communicator, "untailed")
    await asyncio.sleep(0.4)  # the reader notices within its 250 ms block
    await publish_many(3)
    assert await communicator.receive_nothing(timeout=0.6)
    await communicator.disconnect()


async def test_malformed_messages_get_an_error_frame(session_of, orders) -> None:
    """Bad input is answered with an error; the socket stays usable."""
    communicator = await opened(await sync_to_async(session_of)("viewer"))
    bad: list[Any] = [
        "not json",
        {"op": "fly"},
        {"op": "tail", "topic": "orders"},
        {"op": "tail", "id": "t1", "topic": "nope"},
        {"op": "tail", "id": "t1", "topic": "orders", "partitions": [9]},
        {"op": "tail", "id": "t1", "topic": "orders", "from": "yesterday"},
        # Past Redis's 64-bit ids: refused, not accepted and then stuck retrying.
        {"op": "tail", "id": "t1", "topic": "orders", "from": {"0": "99" * 12 + "-0"}},
        {"op": "tail", "id": "t1", "topic": "orders", "from": {"\u00b2": "1-0"}},
        {"op": "untail", "id": "zz"},
        {"op": "watch", "feeds": "overview"},
    ]
    for message in bad:
        if isinstance(message, str):
            await communicator.send_to(text_data=message)
        else:
            await communicator.send_json_to(message)
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["kind"] == "error", message
        assert len(frame["message"]) > 10
    for n in range(5):
        await communicator.send_json_to(
            {"op": "tail", "id": f"t{n}", "topic": "orders"}
        )
        await receive_kind(communicator, "tailing")
    await communicator.send_json_to({"op": "tail", "id": "t9", "topic": "orders"})
    frame = await receive_kind(communicator, "error")
    assert "5 live tails" in frame["message"]
    await communicator.disconnect()
