"""Reading ranges (merged, filtered, paged) and tailing a topic live."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
import redis

from eventbus import publish, register_event_type
from eventbus.envelope import FIELD, Event, new_event_id, now_rfc3339
from eventbus.exceptions import InvalidCursor, InvalidRange
from eventbus.keys import stream_key
from eventbus.partitioning import partition_for
from eventbus.reading import read_range, tail

TOPIC = "shop"
TYPES = ("shop.order_placed", "shop.order_paid", "shop.item_shipped")
KEYS = ("k0", "k4", "k6", "k1", "k5")  # partitions 2, 0, 1, 2, 0


@pytest.fixture
def shop(make_topic, bus):
    make_topic(TOPIC, partitions=3)
    for name in TYPES:
        register_event_type(name, topic=TOPIC, schema={"type": "object"})
    return bus


def put(
    bus: redis.Redis,
    sid: str,
    type: str,
    key: str,
    subject: str | None = None,
    partition: int | None = None,
) -> str:
    """Append an envelope at a fixed id on the key's partition; return its id."""
    event = Event(
        id=new_event_id(),
        source="/tests",
        type=type,
        time=now_rfc3339(),
        data={"at": sid},
        subject=subject,
        partitionkey=key,
    )
    p = partition_for(key, 3) if partition is None else partition
    bus.xadd(stream_key(TOPIC, p), {FIELD: event.to_wire()}, id=sid)
    return event.id


@pytest.fixture
def history(shop):
    """30 events at ms 1000..1029 spread over partitions, plus a same-ms tie."""
    expected = []
    for n in range(30):
        key = KEYS[n % 5]
        expected.append(
            put(shop, f"{1000 + n}-0", TYPES[n % 3], key, subject=f"s{n % 2}")
        )
    return expected


def all_of(**query) -> list[Event]:
    return read_range(TOPIC, limit=10_000, **query).events


def test_partitions_are_merged_in_time_order(history):
    """Events come ordered by stream id across partitions, each with its position."""
    events = all_of()
    assert [e.id for e in events] == history
    assert {e.position.partition for e in events} == {0, 1, 2}
    assert [e.position.stream_id for e in events] == [
        f"{1000 + n}-0" for n in range(30)
    ]


def test_same_millisecond_ties_break_by_sequence_then_partition(shop):
    """Within one ms: lower sequence first, then lower partition number."""
    a = put(shop, "5-0", TYPES[0], "x", partition=2)
    b = put(shop, "5-1", TYPES[0], "x", partition=2)
    c = put(shop, "5-1", TYPES[0], "x", partition=0)
    d = put(shop, "5-0", TYPES[0], "x", partition=1)
    assert [e.id for e in all_of()] == [d, a, c, b]
    assert [e.id for e in all_of(reverse=True)] == [b, c, a, d]


def test_published_events_read_back_in_order(shop):
    """What publish() wrote reads back, merged in stream-id order."""
    published = [publish(TOPIC, TYPES[0], {"n": n}, key=KEYS[n % 5]) for n in range(20)]
    events = all_of()
    assert sorted(e.id for e in events) == sorted(p.event_id for p in published)
    order = [
        (e.position.ms, e.position.stream_id, e.position.partition) for e in events
    ]
    assert order == sorted(order, key=lambda o: (o[0], int(o[1].split("-")[1]), o[2]))


def test_filters_by_type_pattern_key_and_subject(history, shop):
    """Type patterns are fnmatch-style; key reads only its partition; subject exact."""
    orders = all_of(types=["shop.order_*"])
    assert [e.id for e in orders] == [h for n, h in enumerate(history) if n % 3 != 2]
    assert {e.type for e in all_of(types="*.item_shipped")} == {"shop.item_shipped"}

    # An event with key k1 on a partition k1 does not map to is never read.
    other = (partition_for("k4", 3) + 1) % 3
    put(shop, "2000-0", TYPES[0], "k4", partition=other)
    by_key = all_of(key="k4")
    assert [e.id for e in by_key] == [h for n, h in enumerate(history) if n % 5 == 1]

    both = all_of(key="k4", subject="s1", types=["shop.order_paid"])
    expected = [n for n in range(30) if n % 5 == 1 and n % 2 == 1 and n % 3 == 1]
    assert [e.id for e in both] == [history[n] for n in expected]


def test_start_is_inclusive_and_end_exclusive_by_time_or_id(history):
    """ms, datetime and stream ids all bound every partition the same way."""
    window = history[5:10]
    assert [e.id for e in all_of(start=1005, end=1010)] == window
    assert [e.id for e in all_of(start="1005-0", end="1010")] == window
    at = datetime.fromtimestamp(1.005, tz=UTC)
    assert [e.id for e in all_of(start=at, end=1010)] == window
    assert [e.id for e in all_of(start="1029-1")] == []
    assert [e.id for e in all_of(end="1000-0")] == []
    assert [e.id for e in all_of(start=1028, reverse=True)] == history[:27:-1]
    with pytest.raises(InvalidRange, match="not a time or stream id"):
        read_range(TOPIC, start="yesterday")


def read_pages(limit: int, **query) -> tuple[list[str], int]:
    ids: list[str] = []
    pages = 0
    cursor = None
    while True:
        page = read_range(TOPIC, limit=limit, cursor=cursor, **query)
        assert len(page.events) <= limit
        ids.extend(e.id for e in page.events)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            return ids, pages


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"reverse": True},
        {"types": ["shop.item_*"]},
        {"types": ["shop.item_*"], "scan_limit": 4},
        {"key": "k6", "subject": "s0", "scan_limit": 1},
        {"start": 1003, "end": "1027-0", "reverse": True, "scan_limit": 5},
    ],
)
def test_pages_concatenate_to_one_big_read(history, query):
    """Paging with the cursor has no gap and no duplicate, even when filters skip."""
    whole = [
        e.id for e in all_of(**{k: v for k, v in query.items() if k != "scan_limit"})
    ]
    assert whole
    paged, pages = read_pages(limit=4, **query)
    assert paged == whole
    assert pages >= len(whole) // 4


def test_exact_page_boundary_ends_without_an_empty_page(history):
    """When the last page is full and nothing else matches, next_cursor is None."""
    page = read_range(TOPIC, limit=10, types=["shop.order_placed"])
    assert len(page.events) == 10
    assert page.next_cursor is None


def test_a_cursor_survives_new_events_and_rejects_misuse(history, shop):
    """Events appended later appear on later pages; a bad cursor is refused."""
    first = read_range(TOPIC, limit=29)
    put(shop, "3000-0", TYPES[0], "k0")
    rest = read_range(TOPIC, limit=29, cursor=first.next_cursor)
    assert [e.position.stream_id for e in rest.events] == ["1029-0", "3000-0"]

    with pytest.raises(InvalidCursor, match="different query"):
        read_range(TOPIC, limit=5, cursor=first.next_cursor, types=["shop.*"])
    with pytest.raises(InvalidCursor, match="corrupt"):
        read_range(TOPIC, cursor="not-a-cursor!")


def collect(events, count: int, stop: threading.Event, seconds: float = 10) -> list:
    """Take ``count`` events from a tail, giving up after ``seconds``."""
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    got = []
    try:
        for event in events:
            got.append(event)
            if len(got) == count:
                break
    finally:
        timer.cancel()
    return got


def publish_later(ids: list[str], count: int, delay: float = 0.05) -> threading.Thread:
    def run() -> None:
        for n in range(count):
            time.sleep(delay if n == 0 else 0.002)
            result = publish(TOPIC, TYPES[n % 3], {"n": n}, key=KEYS[n % 5])
            ids.append(result.event_id)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_tail_follows_events_published_after_it_started(shop):
    """Only events published after tail() are yielded, from every partition."""
    before = [publish(TOPIC, TYPES[0], {}, key=k).event_id for k in KEYS]
    stop = threading.Event()
    events = tail(TOPIC, block_ms=100, stop=stop)
    published: list[str] = []
    thread = publish_later(published, 12)
    got = collect(events, 12, stop)
    thread.join()
    assert [e.id for e in got] == published
    assert not set(before) & {e.id for e in got}
    assert {e.position.partition for e in got} == {0, 1, 2}
    for p in range(3):
        assert shop.xinfo_groups(stream_key(TOPIC, p)) == []  # tails leave no group


def test_tail_from_earliest_replays_then_continues_without_gap_or_duplicate(shop):
    """History comes in time order, then live events, each exactly once."""
    old = [
        publish(TOPIC, TYPES[1], {"n": n}, key=KEYS[n % 5]).event_id for n in range(40)
    ]
    stop = threading.Event()
    events = tail(TOPIC, start="earliest", block_ms=100, stop=stop)
    new: list[str] = []
    thread = publish_later(new, 30, delay=0)  # races with the replay
    got = collect(events, 70, stop)
    thread.join()
    ids = [e.id for e in got]
    assert len(ids) == len(set(ids)) == 70
    assert set(ids) == set(old) | set(new)
    assert ids[:40] == [
        e.id for e in read_range(TOPIC, limit=1000).events if e.id in set(old)
    ]
    for p in range(3):
        own = [e.position.stream_id for e in got if e.position.partition == p]
        assert own == sorted(own, key=lambda s: tuple(map(int, s.split("-"))))


def test_tail_filters_and_starts_at_a_time(history, shop):
    """A tail from a time replays only from there, and filters apply throughout."""
    stop = threading.Event()
    events = tail(
        TOPIC, start=1020, types=["shop.order_placed"], block_ms=50, stop=stop
    )
    put(shop, "5000-0", "shop.order_placed", "k1")
    put(shop, "5001-0", "shop.order_paid", "k1")
    got = collect(events, 4, stop)
    assert [e.position.stream_id for e in got] == [
        "1021-0",
        "1024-0",
        "1027-0",
        "5000-0",
    ]


def test_tail_stops_when_asked(shop):
    """Setting stop ends the tail within block_ms."""
    stop = threading.Event()
    events = tail(TOPIC, block_ms=50, stop=stop)
    threading.Timer(0.2, stop.set).start()
    started = time.monotonic()
    assert list(events) == []
    assert time.monotonic() - started < 2
