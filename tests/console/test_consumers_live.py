"""Sample patches on the console socket carry firing alerts and partition figures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.test import Client

from console.alerts import evaluate
from console.diff import merge_apply
from console.models import AlertMetric, AlertRule
from console.routing import websocket_urlpatterns
from eventbus import ResetTarget, create_group, reset_group
from tests.consumer_app.events import PROBE_TOPIC
from tests.eventbus.consumer_helpers import (
    handled,
    publish_probes,
    running,
    wait_until,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

APP = URLRouter(websocket_urlpatterns)
GROUP = "probe-a"  # handled by tests.consumer_app's probe_a
KEY = f"{PROBE_TOPIC}/{GROUP}"


@pytest.fixture
def probe(make_topic, settings) -> None:
    """The probe topic (2 partitions), group 'probe-a', sampled every 0.1 s."""
    settings.CONSOLE = {**settings.CONSOLE, "SAMPLE_SECONDS": 0.1}
    make_topic(PROBE_TOPIC, partitions=2)
    create_group(PROBE_TOPIC, GROUP, start="earliest")


async def watching(console_users: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
    """Open a viewer's socket, watch, and return it with the full snapshot."""

    def cookie() -> str:
        client = Client()
        client.force_login(console_users["viewer"])
        return client.cookies["sessionid"].value

    headers = [
        (b"host", b"localhost"),
        (b"origin", b"http://localhost"),
        (b"cookie", f"sessionid={await sync_to_async(cookie)()}".encode()),
    ]
    communicator = WebsocketCommunicator(APP, "/ws/console/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    await communicator.send_json_to({"op": "watch", "feeds": ["overview"]})
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["kind"] == "sample" and frame["full"] is True
    return communicator, frame["data"]


async def patched_until(
    communicator: Any,
    state: dict[str, Any],
    done: Callable[[dict[str, Any]], bool],
    seen: list[dict[str, Any]],
    frames: int = 100,
) -> dict[str, Any]:
    """Apply patches until ``done(state)``; collect every patch into ``seen``."""
    for _ in range(frames):
        if done(state):
            return state
        frame = await communicator.receive_json_from(timeout=5)
        assert frame["kind"] == "sample" and frame["full"] is False
        seen.append(frame["data"])
        state = merge_apply(state, frame["data"])
    raise AssertionError(f"no patch gave the expected state in {frames} frames")


def _fire() -> None:
    AlertRule.objects.create(
        name="probe-a behind",
        topic=PROBE_TOPIC,
        group=GROUP,
        metric=AlertMetric.LAG,
        threshold=2,
        for_seconds=0,
    )
    publish_probes(5)
    assert evaluate().fired == ["probe-a behind"]


def _resolve() -> None:
    reset_group(PROBE_TOPIC, GROUP, ResetTarget.latest(), dry_run=False)
    assert evaluate().resolved == ["probe-a behind"]


async def test_a_patch_carries_a_newly_firing_alert_and_its_resolution(
    probe, console_users
) -> None:
    """An alert that fires while the socket is open arrives in a merge patch,
    and a later patch removes it once it resolves."""
    communicator, state = await watching(console_users)
    assert state["alerts"] == []
    await sync_to_async(_fire)()
    patches: list[dict[str, Any]] = []
    state = await patched_until(communicator, state, lambda s: s["alerts"], patches)
    assert [a["rule"] for a in state["alerts"]] == ["probe-a behind"]
    assert state["alerts"][0]["value"] == 5
    assert any("alerts" in patch for patch in patches)
    await sync_to_async(_resolve)()
    state = await patched_until(communicator, state, lambda s: not s["alerts"], patches)
    assert state["alerts"] == []
    await communicator.disconnect()


def _consume(count: int) -> None:
    with running(GROUP):
        wait_until(lambda: len(handled(GROUP)) == count, what=f"{count} handled")


def _latest(state: dict[str, Any], partition: str) -> float | None:
    points = state.get("series", {}).get(f"part_backlog/{KEY}/{partition}", {})
    return points[max(points, key=int)] if points else None


async def test_patches_carry_each_partitions_backlog_processed_count_and_rate(
    probe, console_users
) -> None:
    """Patches bring each partition's own backlog series, then, while a worker
    consumes, its own processed count and rate."""
    communicator, state = await watching(console_users)
    parts = state["groups"][KEY]["partitions"]
    assert {p: row["processed"] for p, row in parts.items()} == {"0": 0, "1": 0}
    # k0-k3 hash to partition 1, k4-k7 to partition 0.
    await sync_to_async(publish_probes)(12, keys=8)

    def backlogged(s: dict[str, Any]) -> bool:
        return (_latest(s, "0"), _latest(s, "1")) == (4, 8)

    patches: list[dict[str, Any]] = []
    state = await patched_until(communicator, state, backlogged, patches)
    assert state["series"][f"backlog/{KEY}"]  # the group's own series is apart
    await sync_to_async(_consume, thread_sensitive=False)(12)

    def caught_up(s: dict[str, Any]) -> bool:
        rows = s["groups"][KEY]["partitions"]
        return [rows[p]["processed"] for p in ("0", "1")] == [4, 8]

    state = await patched_until(communicator, state, caught_up, patches)
    rows = state["groups"][KEY]["partitions"]
    assert all(rows[p]["last_ms"] > 0 for p in rows)
    rated = [
        row["rate_out"]
        for patch in patches
        for row in patch.get("groups", {}).get(KEY, {}).get("partitions", {}).values()
        if "rate_out" in row
    ]
    assert rated and max(rated) > 0
    await communicator.disconnect()
