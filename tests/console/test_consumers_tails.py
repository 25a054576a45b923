"""A tail's bounded queue: a slow browser gets a gap notice, never a torn sequence."""

from __future__ import annotations

import asyncio

from console.tails import MAX_QUEUED, Tail, TailSpec
from eventbus.topics import TopicInfo


def _item(partition: int, sid: str) -> dict:
    return {"position": {"topic": "orders", "partition": partition, "id": sid}}


def test_a_full_queue_skips_whole_reads_then_sends_a_gap() -> None:
    """Reads that do not fit are skipped whole; a tail-gap gives count and positions."""
    loop = asyncio.new_event_loop()
    try:
        tail = Tail(TailSpec(id="t1", topic="orders"), TopicInfo("orders", 2), None)
        tail.loop = loop
        for n in range(MAX_QUEUED):
            tail._deliver([_item(0, f"{n}-0")], {0: f"{n}-0", 1: "0-0"})
        tail._deliver([_item(0, "100-0"), _item(1, "100-1")], {0: "100-0", 1: "100-1"})
        tail._deliver([_item(1, "101-0")], {0: "100-0", 1: "101-0"})
        assert len(tail.frames) == MAX_QUEUED
        assert tail.skipped == 3
        tail.frames.clear()  # the socket caught up
        tail._deliver([], {0: "100-0", 1: "101-0"})
        tail._deliver([_item(0, "102-0")], {0: "102-0", 1: "101-0"})
        gap, frame = list(tail.frames)
        assert gap == {
            "kind": "tail-gap",
            "id": "t1",
            "skipped": 3,
            "positions": {"0": "100-0", "1": "101-0"},
        }
        assert frame["kind"] == "tail"
        assert frame["events"] == [_item(0, "102-0")]
        assert frame["positions"] == {"0": "102-0", "1": "101-0"}
    finally:
        loop.close()
