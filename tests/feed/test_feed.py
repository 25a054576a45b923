"""The feed through the real routing stack: auth, origin, subscribe, replay, live."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from console.models import ApiToken
from console.tokens import token_revoke
from eventbus.topics import invalidate_topic_cache, set_partitions
from tests.feed.conftest import (
    PLACED,
    SHIPPED,
    apublish,
    events,
    feed,
    live_on_orders,
    next_kind,
    opened,
    publish_n,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


async def closed_with(communicator, code: int) -> str:
    """Return the error message sent before a close with ``code``."""
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["kind"] == "error" and frame["code"] == code, frame
    close = await communicator.receive_output(timeout=5)
    assert close == {
        "type": "websocket.close",
        "code": code,
        "reason": frame["message"],
    }
    return frame["message"]


async def test_no_token_bad_token_and_expired_token_close_1008(token) -> None:
    """Without a valid token the feed closes with 1008 and says why."""
    communicator = feed()
    assert (await communicator.connect(timeout=5))[0]
    await communicator.send_json_to(
        {"op": "subscribe", "id": "s", "topics": ["orders"]}
    )
    assert "Authenticate first" in await closed_with(communicator, 1008)

    communicator = feed("sy_nothing")
    assert (await communicator.connect(timeout=5))[0]
    assert "malformed" in await closed_with(communicator, 1008)

    real = await sync_to_async(token)()
    wrong = real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")
    communicator = feed(wrong)
    assert (await communicator.connect(timeout=5))[0]
    assert "not valid" in await closed_with(communicator, 1008)

    await sync_to_async(ApiToken.objects.update)(revoked_at="2026-01-01T00:00:00Z")
    communicator = feed(real)
    assert (await communicator.connect(timeout=5))[0]
    assert "revoked" in await closed_with(communicator, 1008)


async def test_token_as_first_message(token) -> None:
    """A client without the header authenticates with its first message."""
    raw = await sync_to_async(token)()
    communicator = feed()
    assert (await communicator.connect(timeout=5))[0]
    await communicator.send_json_to({"op": "auth", "token": raw})
    assert (await next_kind(communicator, "authenticated"))["token"] == "feed test"
    await communicator.send_json_to({"op": "ping"})
    await next_kind(communicator, "pong")
    await communicator.disconnect()


async def test_missing_subprotocol_closes_1002(token) -> None:
    """A client that does not offer cloudevents.json is told to."""
    raw = await sync_to_async(token)()
    communicator = feed(raw, subprotocols=[])
    assert (await communicator.connect(timeout=5))[0]
    assert "cloudevents.json" in await closed_with(communicator, 1002)


async def test_origin_checked_for_browsers_only(token) -> None:
    """A foreign Origin is refused at the handshake; no Origin gets in with a token."""
    raw = await sync_to_async(token)()
    communicator = feed(raw, origin="http://evil.example")
    connected, _ = await communicator.connect(timeout=5)
    assert not connected
    communicator = await opened(raw, origin="http://localhost")
    await communicator.disconnect()
    communicator = await opened(raw)
    await communicator.disconnect()


async def test_subscribe_needs_the_subscribe_scope(token) -> None:
    """A topic outside the token's subscribe scopes gets an error frame."""
    raw = await sync_to_async(token)("publish:orders", "subscribe:payments")
    communicator = await opened(raw)
    await communicator.send_json_to(
        {"op": "subscribe", "id": "s", "topics": ["orders"]}
    )
    frame = await next_kind(communicator, "error")
    assert "no 'subscribe' scope on orders" in frame["message"]
    assert frame["id"] == "s"
    await communicator.disconnect()


async def test_live_events_carry_their_position(token) -> None:
    """From latest, only events published afterwards arrive, each with its position."""
    raw = await sync_to_async(token)()
    await publish_n(3)
    communicator, subscribed = await live_on_orders(raw)
    assert set(subscribed["positions"]["orders"]) == {"0", "1", "2", "3"}
    ids = await publish_n(5, start=3)
    got = await events(communicator, 5)
    assert sorted(e["id"] for e in got) == sorted(ids)
    for event in got:
        assert event["specversion"] == "1.0" and event["sytopic"] == "orders"
        assert isinstance(event["sypartition"], int)
        assert event["syoffset"].count("-") == 1
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


async def until_live(communicator) -> list[dict]:
    """Return the events a subscription replays before its "live" frame."""
    got = []
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame.get("kind") == "live":
            return got
        assert "specversion" in frame, frame
        got.append(frame)


async def test_filters_by_type_pattern_key_and_subject(token) -> None:
    """Type patterns, key and subject select events, in replay and live."""
    raw = await sync_to_async(token)()
    await publish_n(4)  # n 0-3, keys k0-k3
    await publish_n(2, type_=SHIPPED, start=10)  # n 10-11, keys k3, k4
    for n, subject in ((20, "invoice-1"), (21, "invoice-2")):
        await apublish("orders", PLACED, {"n": n}, key="k6", subject=subject)
    # Each filter, the n of the events it replays, and of those it gets live.
    cases = [
        ({"types": ["*.shipped"]}, {10, 11}, {31}),
        ({"key": "k3"}, {3, 10}, {30}),
        ({"subject": "invoice-1"}, {20}, {32}),
    ]
    sockets = []
    for filters, replayed, _ in cases:
        communicator = await opened(raw)
        await communicator.send_json_to(
            {"op": "subscribe", "id": "s", "topics": ["orders"], "from": "earliest"}
            | filters
        )
        await next_kind(communicator, "subscribed")
        got = await until_live(communicator)
        assert sorted(e["data"]["n"] for e in got) == sorted(replayed), filters
        sockets.append(communicator)
    await apublish("orders", PLACED, {"n": 30}, key="k3")
    await apublish("orders", SHIPPED, {"n": 31}, key="k0")
    for n, subject in ((32, "invoice-1"), (33, "invoice-2")):
        await apublish("orders", PLACED, {"n": n}, key="k6", subject=subject)
    for communicator, (filters, _, live) in zip(sockets, cases, strict=True):
        got = await events(communicator, len(live))
        assert {e["data"]["n"] for e in got} == live, filters
        assert await communicator.receive_nothing(0.3), filters
        await communicator.disconnect()


async def test_replay_then_live_has_no_gap_and_no_duplicate(token) -> None:
    """Publishing while the replay runs: every event arrives exactly once, in order."""
    raw = await sync_to_async(token)()
    before = await publish_n(1500)
    communicator = await opened(raw)
    await communicator.send_json_to(
        {"op": "subscribe", "id": "s", "topics": ["orders"], "from": "earliest"}
    )
    await next_kind(communicator, "subscribed")
    during = asyncio.ensure_future(publish_n(300, start=1500))
    got = []
    live_seen = False
    while len(got) < 1800:
        frame = await communicator.receive_json_from(timeout=10)
        if frame.get("kind") == "live":
            live_seen = True
            continue
        assert "specversion" in frame, frame
        got.append(frame)
    after = await during
    assert live_seen
    assert [e["id"] for e in got if e["id"] in set(before)] != []
    assert sorted(e["id"] for e in got) == sorted(before + after)
    assert len({e["id"] for e in got}) == len(got)
    by_partition: dict[int, list[tuple[int, int]]] = {}
    for event in got:
        ms, seq = event["syoffset"].split("-")
        by_partition.setdefault(event["sypartition"], []).append((int(ms), int(seq)))
    for offsets in by_partition.values():
        assert offsets == sorted(offsets)
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


async def test_partitions_added_while_live_are_followed_from_their_start(
    token, settings
) -> None:
    """Events in a partition added after the reader started arrive, none lost."""
    settings.BUS = {**settings.BUS, "TOPIC_CACHE_SECONDS": 0.2}
    raw = await sync_to_async(token)()
    communicator, subscribed = await live_on_orders(raw)
    assert set(subscribed["positions"]["orders"]) == {"0", "1", "2", "3"}
    await sync_to_async(set_partitions)("orders", 6)
    invalidate_topic_cache()
    # Published at once: some land in partitions 4 and 5 before the reader
    # has re-read the topic table, and must still arrive.
    published = [
        await apublish("orders", PLACED, {"n": i}, key=f"grown-{i}") for i in range(30)
    ]
    assert {p.position.partition for p in published} & {4, 5}
    got = await events(communicator, 30)
    assert sorted(e["id"] for e in got) == sorted(p.event_id for p in published)
    assert {e["sypartition"] for e in got} & {4, 5}
    assert await communicator.receive_nothing(0.3)
    await communicator.disconnect()


async def test_resume_from_saved_positions(token) -> None:
    """Resuming from the positions of the last events seen loses and repeats nothing."""
    raw = await sync_to_async(token)()
    first = await publish_n(40)
    communicator = await opened(raw)
    await communicator.send_json_to(
        {"op": "subscribe", "id": "s", "topics": ["orders"], "from": "earliest"}
    )
    await next_kind(communicator, "subscribed")
    got = await events(communicator, 25)
    await communicator.disconnect()
    saved: dict[str, str] = {}
    for event in got:
        saved[str(event["sypartition"])] = event["syoffset"]
    rest = await publish_n(10, start=40)

    communicator = await opened(raw)
    await communicator.send_json_to(
        {"op": "subscribe", "id": "s", "topics": ["orders"], "from": {"orders": saved}}
    )
    await next_kind(communicator, "subscribed")
    resumed = await events(communicator, 25)
    await next_kind(communicator, "live")  # the 25 were all there was
    assert await communicator.receive_nothing(0.3)
    seen = {e["id"] for e in got} | {e["id"] for e in resumed}
    assert seen == set(first + rest)
    assert not {e["id"] for e in got} & {e["id"] for e in resumed}
    await communicator.disconnect()


async def test_start_at_a_time(token) -> None:
    """From a time, the replay starts at the first event at or after it."""
    raw = await sync_to_async(token)()
    await publish_n(5)
    await asyncio.sleep(0.01)
    later = await publish_n(3, start=5)
    communicator = await opened(raw)
    await communicator.send_json_to(
        {"op": "subscribe", "id": "s", "topics": ["orders"], "from": "earliest"}
    )
    await next_kind(communicator, "subscribed")
    all_events = await events(communicator, 8)
    await next_kind(communicator, "live")
    start_ms = int(
        next(e for e in all_events if e["id"] == later[0])["syoffset"].split("-")[0]
    )
    await communicator.send_json_to(
        {"op": "subscribe", "id": "t", "topics": ["orders"], "from": start_ms}
    )
    await next_kind(communicator, "subscribed")
    got = await events(communicator, 3)
    assert {e["id"] for e in got} >= set(later)
    await communicator.disconnect()


async def test_malformed_frames_get_error_frames(token) -> None:
    """Bad JSON, unknown ops, bad subscriptions get error frames; the socket stays."""
    raw = await sync_to_async(token)()
    communicator = await opened(raw)
    await communicator.send_to(text_data="{not json")
    assert "Not JSON" in (await next_kind(communicator, "error"))["message"]
    await communicator.send_json_to({"op": "explode"})
    assert "Unknown message" in (await next_kind(communicator, "error"))["message"]
    for bad in (
        {"op": "subscribe"},
        {"op": "subscribe", "id": "s", "topics": []},
        {"op": "subscribe", "id": "s", "topics": ["orders"], "types": 3},
        {"op": "subscribe", "id": "s", "topics": ["orders"], "from": "yesterday"},
        {"op": "subscribe", "id": "s", "topics": ["orders"], "from": {"other": {}}},
        {"op": "subscribe", "id": "s", "topics": ["nope"]},
        {"op": "unsubscribe", "id": "zz"},
    ):
        await communicator.send_json_to(bad)
        await next_kind(communicator, "error")
    await communicator.send_json_to({"op": "ping"})
    await next_kind(communicator, "pong")
    await communicator.disconnect()


async def test_binary_and_oversized_frames_close(token) -> None:
    """A binary frame closes with 1003, an oversized one with 1009."""
    raw = await sync_to_async(token)()
    communicator = await opened(raw)
    await communicator.send_to(bytes_data=b"\x00\x01")
    await closed_with(communicator, 1003)
    communicator = await opened(raw)
    await communicator.send_to(text_data="x" * (65 * 1024))
    await closed_with(communicator, 1009)


async def test_frame_size_counts_utf8_bytes(token) -> None:
    """The 64 KiB limit is in bytes: 30,000 "€" (90,000 bytes) close with 1009."""
    raw = await sync_to_async(token)()
    communicator = await opened(raw)
    await communicator.send_to(text_data="€" * 30_000)
    assert "bytes" in await closed_with(communicator, 1009)


async def test_an_unexpected_error_closes_1011_and_frees_the_tokens_slot(
    token, monkeypatch, caplog
) -> None:
    """A request the server fails on is logged with its traceback and closed with
    1011; the connection is cleaned up, so a token capped at one connects again."""

    def broken(message: dict) -> None:
        raise RuntimeError("a bug in parsing")

    monkeypatch.setattr("console.feed.consumer.parse_subscribe", broken)
    raw = await sync_to_async(token)(max_connections=1)
    communicator = await opened(raw)
    await communicator.send_json_to(
        {"op": "subscribe", "id": "s", "topics": ["orders"]}
    )
    assert "server failed" in await closed_with(communicator, 1011)
    assert "RuntimeError: a bug in parsing" in caplog.text
    await communicator.disconnect()  # what the server sends after the close
    again = await opened(raw)
    await again.disconnect()


async def test_a_connection_ended_without_a_disconnect_frees_its_slot(token) -> None:
    """An application cancelled before its disconnect message (the server gave
    up on it) still gives its connection-cap slot back."""
    raw = await sync_to_async(token)(max_connections=1)
    communicator = await opened(raw)
    communicator.future.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await communicator.future
    again = await opened(raw)
    await again.disconnect()


async def test_revoking_a_token_closes_its_connections(token, settings) -> None:
    """Revocation closes a live connection with 1008 within the recheck period."""
    settings.API = {**settings.API, "FEED_RECHECK_SECONDS": 0.2}
    raw = await sync_to_async(token)()
    communicator, _ = await live_on_orders(raw)
    row = await sync_to_async(ApiToken.objects.get)()
    await sync_to_async(token_revoke)(token=row)
    assert "revoked" in await closed_with(communicator, 1008)


async def test_an_open_connection_keeps_its_tokens_last_used_time_fresh(
    token, settings
) -> None:
    """A token used only by a long-lived connection does not look unused."""
    settings.API = {**settings.API, "FEED_RECHECK_SECONDS": 0.2}
    raw = await sync_to_async(token)()
    communicator, _ = await live_on_orders(raw)
    hours_ago = timezone.now() - timedelta(hours=2)
    await sync_to_async(ApiToken.objects.update)(last_used_at=hours_ago)
    await asyncio.sleep(0.6)  # a few check rounds
    row = await sync_to_async(ApiToken.objects.get)()
    assert row.last_used_at is not None
    assert timezone.now() - row.last_used_at < timedelta(seconds=5)
    await sync_to_async(ApiToken.objects.update)(last_used_at=row.last_used_at)
    await asyncio.sleep(0.6)  # at most one write per TOUCH_EVERY
    assert (
        await sync_to_async(ApiToken.objects.get)()
    ).last_used_at == row.last_used_at
    await communicator.disconnect()


async def test_connection_cap_per_token(token) -> None:
    """A token's connections beyond its cap are closed with 1008."""
    raw = await sync_to_async(token)(max_connections=2)
    first = await opened(raw)
    second = await opened(raw)
    third = feed(raw)
    assert (await third.connect(timeout=5))[0]
    assert "Too many connections" in await closed_with(third, 1008)
    await first.disconnect()
    fourth = await opened(raw)
    await second.disconnect()
    await fourth.disconnect()


async def test_no_token_in_time_and_idle_close(token, settings) -> None:
    """No token within the auth window: 1008; idle without subscriptions: 4000."""
    settings.API = {
        **settings.API,
        "FEED_RECHECK_SECONDS": 0.1,
        "FEED_AUTH_SECONDS": 0.2,
        "FEED_IDLE_SECONDS": 0.4,
    }
    communicator = feed()
    assert (await communicator.connect(timeout=5))[0]
    assert "No API token" in await closed_with(communicator, 1008)
    raw = await sync_to_async(token)()
    communicator = await opened(raw)
    assert "Idle" in await closed_with(communicator, 4000)


async def test_replay_is_paced_not_closed_by_a_small_buffer(token, settings) -> None:
    """History longer than the buffer is sent as the client takes it, never closed."""
    settings.API = {**settings.API, "FEED_BUFFER": 50}
    raw = await sync_to_async(token)()
    await publish_n(400)
    communicator = await opened(raw)
    await communicator.send_json_to(
        {"op": "subscribe", "id": "s", "topics": ["orders"], "from": "earliest"}
    )
    await next_kind(communicator, "subscribed")
    got = await events(communicator, 400)
    assert len({e["id"] for e in got}) == 400
    await next_kind(communicator, "live")
    await communicator.disconnect()
