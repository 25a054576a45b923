"""The feed client (eventbus.remote) and `bus tail --remote` against a real Daphne."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from django.core.management import CommandError, call_command

from console.tokens import token_create
from eventbus import publish, register_event_type
from eventbus.client import reset_clients
from eventbus.exceptions import FeedAuthError, FeedError
from eventbus.remote import FeedClient, RemoteEvent, feed_url, normalize_start
from tests.processes import DaphneServer

PLACED, SHIPPED = "remotetest.placed", "remotetest.shipped"


# --- without a server -----------------------------------------------------------


def test_feed_url_accepts_http_and_bare_hosts():
    """http(s) becomes ws(s), and a URL without a path gets the feed's path."""
    assert feed_url("http://h:8000") == "ws://h:8000/ws/v1/events"
    assert feed_url("https://h/") == "wss://h/ws/v1/events"
    assert feed_url("ws://h/ws/v1/events") == "ws://h/ws/v1/events"
    with pytest.raises(FeedError, match="not understood"):
        feed_url("h:8000")


def test_saved_positions_are_normalized_and_bad_ones_refused():
    """Partition keys from JSON (strings) become ints; other shapes are refused."""
    assert normalize_start({"o": {"0": "5-1"}}) == {"o": {0: "5-1"}}
    with pytest.raises(FeedError, match="topic: {partition: offset}"):
        normalize_start({"o": ["5-1"]})


def test_a_client_without_a_token_is_refused_before_connecting():
    """An empty token is an auth error that says where a token comes from."""
    with pytest.raises(FeedAuthError, match="SWITCHYARD_TOKEN"):
        FeedClient("ws://127.0.0.1:9/ws/v1/events", "", ["orders"])


def test_the_token_is_not_in_the_clients_repr():
    """repr() shows the URL and topics, never the token."""
    client = FeedClient("ws://h/ws/v1/events", "sy_abc_secret", ["orders"])
    assert "secret" not in repr(client)


def test_remote_tail_needs_a_token(monkeypatch):
    """`bus tail --remote` without --token or SWITCHYARD_TOKEN says what to set."""
    monkeypatch.delenv("SWITCHYARD_TOKEN", raising=False)
    with pytest.raises(CommandError, match="SWITCHYARD_TOKEN"):
        call_command("bus", "tail", "orders", "--remote", "ws://127.0.0.1:9/")


# --- against a real Daphne ------------------------------------------------------


def served(test):
    """Mark a test that runs Daphne: slow, and on a committed database."""
    return pytest.mark.slow(pytest.mark.django_db(transaction=True)(test))


@pytest.fixture
def daphne(make_topic, tmp_path: Path) -> Iterator[DaphneServer]:
    """Daphne serving the feed, and a 2-partition topic "orders" with two types."""
    make_topic("orders", partitions=2)
    for name in (PLACED, SHIPPED):
        register_event_type(name, topic="orders", schema={"type": "object"})
    server = DaphneServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def token(daphne) -> str:
    return token_create(name="remote test", scopes=["subscribe:*"])[1]


def url(server: DaphneServer) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/v1/events"


def publish_n(first: int, n: int) -> list[str]:
    """Publish events numbered first.. (types alternate); return their ids."""
    return [
        publish(
            "orders", PLACED if i % 2 == 0 else SHIPPED, {"n": i}, key=f"k{i}"
        ).event_id
        for i in range(first, first + n)
    ]


def take(client: FeedClient, n: int, timeout: float = 10) -> list[RemoteEvent]:
    """Return the first ``n`` events the client yields (it is closed after)."""

    async def run() -> list[RemoteEvent]:
        got: list[RemoteEvent] = []
        async with client, asyncio.timeout(timeout):
            async for event in client:
                got.append(event)
                if len(got) == n:
                    break
        return got

    return asyncio.run(run())


@served
def test_consumes_history_and_keeps_positions(daphne, token, caplog):
    """From earliest every event arrives once, with its position; the token stays
    out of the handshake's debug log."""
    caplog.set_level(logging.DEBUG, logger="eventbus.remote.websockets")
    ids = publish_n(0, 6)
    client = FeedClient(url(daphne), token, ["orders"], start="earliest")
    got = take(client, 6)
    assert sorted(e.event["id"] for e in got) == sorted(ids)
    assert {e.topic for e in got} == {"orders"}
    last = {}
    for e in got:
        last[e.partition] = e.offset
        assert e.to_event().position.stream_id == e.offset
    assert client.positions == {"orders": last}
    assert "Bearer ***" in caplog.text
    assert token not in caplog.text


@served
def test_a_start_time_includes_the_event_in_that_millisecond(daphne, token):
    """start=<ms> delivers the event whose id is exactly "<ms>-0" (the start
    announced as "<ms>-0" is not taken as already seen)."""
    published = publish("orders", PLACED, {"n": 0}, key="k0")
    ms, seq = published.position.stream_id.split("-")
    assert seq == "0"
    client = FeedClient(url(daphne), token, ["orders"], start=int(ms))
    [event] = take(client, 1)
    assert event.offset == published.position.stream_id
    assert client.duplicates == 0


@served
def test_type_filter_is_applied_by_the_server(daphne, token):
    """types=[...] delivers only matching events."""
    publish_n(0, 6)
    client = FeedClient(
        url(daphne), token, ["orders"], types=[SHIPPED], start="earliest"
    )
    got = take(client, 3)
    assert sorted(e.event["data"]["n"] for e in got) == [1, 3, 5]
    assert {e.type for e in got} == {SHIPPED}


@served
def test_resume_from_positions_has_no_gap_and_no_duplicate(daphne, token):
    """A second client started at the first one's positions gets exactly the rest,
    including events published in between."""
    first_ids = publish_n(0, 8)
    first = FeedClient(url(daphne), token, ["orders"], start="earliest")
    seen = take(first, 3)
    saved = orjson.loads(orjson.dumps(first.positions, option=orjson.OPT_NON_STR_KEYS))
    later_ids = publish_n(8, 4)
    second = FeedClient(url(daphne), token, ["orders"], start=saved)
    rest = take(second, 9)
    ids = [e.event["id"] for e in seen + rest]
    assert len(ids) == len(set(ids)) == 12
    assert set(ids) == set(first_ids + later_ids)
    assert second.duplicates == 0
    for p in (0, 1):  # per partition, offsets only grow across the two clients
        offsets = [e.offset for e in seen + rest if e.partition == p]
        keys = [tuple(map(int, o.split("-"))) for o in offsets]
        assert keys == sorted(keys)


@served
def test_reconnects_after_the_server_restarts_and_resumes(daphne, token, tmp_path):
    """When the server goes away the client reconnects with backoff and resumes
    from its positions: nothing is lost or repeated."""
    publish_n(0, 3)
    client = FeedClient(
        url(daphne), token, ["orders"], start="earliest", backoff=(0.2, 1.0)
    )

    async def run() -> list[RemoteEvent]:
        got: list[RemoteEvent] = []
        async with client, asyncio.timeout(60):
            while len(got) < 3:
                got.append(await anext(client))
            await asyncio.to_thread(daphne.stop)
            await asyncio.to_thread(publish_n, 3, 4)
            restarted = DaphneServer(tmp_path)
            restarted.port = daphne.port  # the same address, as after a deploy
            await asyncio.to_thread(restarted.start)
            try:
                while len(got) < 7:
                    got.append(await anext(client))
            finally:
                await asyncio.to_thread(restarted.stop)
        return got

    got = asyncio.run(run())
    assert [e.event["data"]["n"] for e in got if e.partition == 0] == sorted(
        e.event["data"]["n"] for e in got if e.partition == 0
    )
    assert sorted(e.event["data"]["n"] for e in got) == list(range(7))
    assert client.connections == 2
    assert client.duplicates == 0  # resumed after its positions, not replayed


@served
def test_close_from_another_task_ends_a_waiting_iteration(daphne, token):
    """close() ends an `async for` that waits for live events, without an error."""
    client = FeedClient(url(daphne), token, ["orders"])

    async def run() -> list[RemoteEvent]:
        got: list[RemoteEvent] = []

        async def consume() -> None:
            async for event in client:
                got.append(event)

        task = asyncio.create_task(consume())
        await asyncio.wait_for(client.live.wait(), 10)
        await client.close()
        await asyncio.wait_for(task, 5)
        return got

    assert asyncio.run(run()) == []
    assert client.positions["orders"].keys() == {0, 1}  # where it started


@served
def test_a_bad_token_raises_the_auth_error_and_is_not_retried(daphne):
    """Close 1008 raises FeedAuthError at once, after one connection."""
    client = FeedClient(url(daphne), "sy_000000000000_" + "x" * 43, ["orders"])
    with pytest.raises(FeedAuthError, match="1008"):
        take(client, 1)
    assert client.connections == 1


@served
def test_a_token_without_the_subscribe_scope_gets_a_clear_error(daphne):
    """The server's refusal of the subscription is raised, not retried."""
    raw = token_create(name="publisher", scopes=["publish:*"])[1]
    client = FeedClient(url(daphne), raw, ["orders"])
    with pytest.raises(FeedError, match="refused subscribe"):
        take(client, 1)
    assert client.connections == 1


@served
def test_a_topic_the_server_cannot_read_for_a_while_does_not_end_the_client(
    make_topic, redis_server, bus_on, tmp_path, caplog
):
    """While the server's reader of a topic loses Redis it sends an error frame
    and retries; the client logs it, keeps the connection and receives the
    events published once Redis is back."""
    own = redis_server()
    bus_on(own.url)
    make_topic("orders", partitions=2)
    register_event_type(PLACED, topic="orders", schema={"type": "object"})
    server = DaphneServer(tmp_path).start()
    raw = token_create(name="remote test", scopes=["subscribe:*"])[1]
    client = FeedClient(url(server), raw, ["orders"], backoff=(0.2, 1.0))
    caplog.set_level(logging.WARNING, logger="eventbus.remote")

    async def run() -> list[RemoteEvent]:
        got: list[RemoteEvent] = []

        async def consume() -> None:
            async for event in client:
                got.append(event)

        async def until(done: Callable[[], bool]) -> None:
            while not done():
                if task.done():
                    task.result()  # the client gave up: raise why
                    raise AssertionError("The client stopped iterating.")
                await asyncio.sleep(0.05)

        async with client, asyncio.timeout(60):
            task = asyncio.create_task(consume())
            await until(client.live.is_set)
            await asyncio.to_thread(publish, "orders", PLACED, {"n": 0}, key="a")
            await until(lambda: len(got) == 1)
            await asyncio.to_thread(own.kill)
            await until(lambda: "Reading topic 'orders' failed" in caplog.text)
            await asyncio.to_thread(own.start)
            reset_clients()  # this process's connections went with the old server
            await asyncio.to_thread(publish, "orders", PLACED, {"n": 1}, key="b")
            await until(lambda: len(got) == 2)
            await client.close()
            await task
        return got

    try:
        got = asyncio.run(run())
    finally:
        server.stop()
    assert [e.event["data"]["n"] for e in got] == [0, 1]
    assert client.connections == 1


def tail(*args: str) -> tuple[list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("bus", "tail", *args, stdout=out, stderr=err)
    lines = [orjson.loads(line) for line in out.getvalue().splitlines()]
    return lines, err.getvalue()


@served
def test_remote_tail_prints_events_and_resumes_from_what_it_printed(
    daphne, token, monkeypatch
):
    """`bus tail --remote` prints the local tail's lines and, on exit, a --from
    that a second tail resumes from, exactly after the last line."""
    monkeypatch.setenv("SWITCHYARD_TOKEN", token)
    publish_n(0, 4)
    lines, err = tail(
        "orders", "--remote", url(daphne), "--from", "earliest", "--limit", "4"
    )
    assert sorted(line["data"]["n"] for line in lines) == [0, 1, 2, 3]
    assert {line["position"]["topic"] for line in lines} == {"orders"}
    assert "sytopic" not in lines[0]  # the same line as a local tail
    resume = err.split("--from '", 1)[1].rsplit("'", 1)[0]
    publish_n(4, 2)
    more, _ = tail(
        "--topic", "orders", "--remote", url(daphne), "--from", resume,
        "--timeout", "2",
    )  # fmt: skip
    assert sorted(line["data"]["n"] for line in more) == [4, 5]


@served
def test_remote_tail_turns_a_refused_token_into_a_command_error(daphne):
    """A bad --token ends the tail with the auth error's advice."""
    with pytest.raises(CommandError, match="retrying will not help"):
        tail("orders", "--remote", url(daphne), "--token", "sy_bad", "--timeout", "5")
