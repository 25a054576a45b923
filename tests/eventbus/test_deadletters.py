"""Dead letters: stored with their failure, listed, redriven to one group, purged."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from eventbus import deadletters, publish, register_event_type
from eventbus.deadletters import (
    DeadLetter,
    add_dead_letter,
    count_dead_letters,
    dead_letter_from,
    get_dead_letter,
    list_dead_letters,
    purge,
    redrive,
)
from eventbus.envelope import FIELD, Event
from eventbus.exceptions import (
    DeadLetterNotFound,
    InvalidCursor,
    InvalidDeadLetterQuery,
    InvalidGroupName,
    InvalidTopicName,
)
from eventbus.keys import dead_letter_key, redrive_key, stream_key
from eventbus.producer import Published

DLQ = dead_letter_key("orders", "inventory")
REDRIVE = redrive_key("orders", "inventory")
OTHER_REDRIVE = redrive_key("orders", "shipping")


class PaymentDeclined(Exception):
    """A handler's own error class: its type is stored module-qualified."""


def charge(data: dict[str, Any]) -> None:
    raise PaymentDeclined(f"card declined for order {data['order_id']}")


def reserve(data: dict[str, Any]) -> None:
    raise ValueError(f"no stock for sku {data['sku']}")


@pytest.fixture
def orders(bus: redis.Redis, make_topic: Callable[..., Any]) -> redis.Redis:
    """A two-partition topic with the event types the tests publish."""
    make_topic("orders", partitions=2)
    for name in ("order.placed", "order.cancelled"):
        register_event_type(name, topic="orders", schema={"type": "object"})
    return bus


def place(n: int, event_type: str = "order.placed") -> Published:
    return publish(
        "orders", event_type, {"order_id": f"o{n}", "sku": f"sku-{n}"}, key=f"c{n}"
    )


def fail(
    client: redis.Redis,
    published: Published,
    handler: Callable[[dict[str, Any]], None],
    *,
    group: str = "inventory",
    attempts: int = 3,
) -> DeadLetter:
    """Run ``handler`` on the logged event as a worker would; dead-letter it."""
    pos = published.position
    key = stream_key(pos.topic, pos.partition)
    wire = client.xrange(key, pos.stream_id, pos.stream_id)[0][1][FIELD]
    try:
        handler(Event.from_wire(wire, pos).data)
    except Exception as exc:
        where = (pos.topic, group, pos.partition, pos.stream_id, wire)
        letter = dead_letter_from(*where, exc, attempts, 1_000, 2_000, 3_000)
    else:
        raise AssertionError("the handler was expected to fail")
    add_dead_letter(client, letter)
    return letter


def fill(client: redis.Redis, n: int, **kwargs: Any) -> list[DeadLetter]:
    """Dead-letter n events, alternately from reserve (ValueError) and charge."""
    return [
        fail(client, place(i), reserve if i % 2 == 0 else charge, **kwargs)
        for i in range(n)
    ]


def ids_in(client: redis.Redis, key: str) -> list[str]:
    return [sid.decode() for sid, _ in client.xrange(key)]


def all_pages(cursor: str | None = None, **query: Any) -> list[str]:
    """Return the ids of every page from ``cursor`` on, following next_cursor."""
    seen: list[str] = []
    while True:
        page = list_dead_letters("orders", "inventory", cursor=cursor, **query)
        seen.extend(letter.dlq_id or "" for letter in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return seen


def test_a_dead_letter_keeps_the_failure_and_the_original_event(orders):
    """The letter holds error type, message, traceback, attempts, times and origin."""
    published = place(1)
    letter = fail(orders, published, charge, attempts=5)
    (dlq_id,) = ids_in(orders, DLQ)
    stored = get_dead_letter("orders", "inventory", dlq_id)
    assert stored.dlq_id == dlq_id
    assert stored.error_type == f"{__name__}.PaymentDeclined"
    assert stored.error_message == "card declined for order o1"
    assert "in charge" in stored.traceback
    assert stored.traceback.rstrip().endswith(
        "PaymentDeclined: card declined for order o1"
    )
    assert (stored.attempts, stored.first_failure_ms, stored.last_failure_ms) == (
        5,
        1_000,
        2_000,
    )
    assert stored.dead_at_ms == 3_000
    assert stored.wire == letter.wire
    assert (stored.partition, stored.stream_id) == published.position[1:]
    assert stored.event.position == published.position
    assert stored.event.id == published.event_id
    assert stored.event.data == {"order_id": "o1", "sku": "sku-1"}
    assert stored == DeadLetter(**{**letter.__dict__, "dlq_id": dlq_id})


def test_builtin_errors_keep_their_bare_name(orders):
    """A builtin exception is stored as 'ValueError', not 'builtins.ValueError'."""
    fail(orders, place(2), reserve)
    (stored,) = list_dead_letters("orders", "inventory").items
    assert stored.error_type == "ValueError"
    assert stored.error_message == "no stock for sku sku-2"


def test_add_dead_letter_is_queued_on_the_callers_pipeline(orders):
    """On a pipeline the letter is written only when the pipeline executes."""
    letter = dead_letter_from(
        "orders", "inventory", 0, "1-0", b"{}", ValueError("x"), 1, 1, 1, 1
    )
    pipe = orders.pipeline(transaction=True)
    add_dead_letter(pipe, letter)
    assert orders.xlen(DLQ) == 0
    pipe.execute()
    assert orders.xlen(DLQ) == 1


def test_huge_tracebacks_and_messages_are_clipped_keeping_both_ends(orders):
    """A recursion error's traceback and a huge message are cut in the middle."""

    def dive(n: int) -> None:
        if n == 0:
            raise RuntimeError("bottom " + "x" * 100_000)
        dive(n - 1)

    try:
        dive(400)
    except RuntimeError as exc:
        letter = dead_letter_from(
            "orders", "inventory", 0, "1-0", b"{}", exc, 1, 1, 1, 1
        )
    assert len(letter.traceback) <= 16 * 1024
    assert "characters cut" in letter.traceback
    assert letter.traceback.startswith("Traceback (most recent call last):")
    assert "in dive" in letter.traceback[-8000:]
    assert letter.error_message.startswith("bottom x")
    assert len(letter.error_message) <= 4 * 1024


def test_an_exception_whose_str_fails_is_still_dead_lettered(orders):
    """A broken __str__ yields a placeholder message, not a second failure."""

    class Broken(Exception):
        def __str__(self) -> str:
            raise TypeError("no str")

    try:
        raise Broken()
    except Broken as exc:
        letter = dead_letter_from(
            "orders", "inventory", 0, "1-0", b"{}", exc, 1, 1, 1, 1
        )
    add_dead_letter(orders, letter)
    (stored,) = list_dead_letters("orders", "inventory").items
    assert "str() of the exception failed" in stored.error_message
    assert stored.error_type.endswith("Broken")


def test_a_letter_without_partition_round_trips_as_none(orders):
    """After a redrive failure the partition is None and the event has no position."""
    letter = fail(orders, place(4), reserve)
    add_dead_letter(orders, DeadLetter(**{**letter.__dict__, "partition": None}))
    newest = list_dead_letters("orders", "inventory", limit=1).items[0]
    assert newest.partition is None
    assert newest.event.position is None
    assert newest.event.data["order_id"] == "o4"


def test_an_undecodable_event_is_listed_searched_and_redriven_unchanged(orders):
    """Wire bytes that are not an envelope stay usable: by text, by id, redrive."""
    raw = b"\xff not json {order o9}"
    try:
        Event.from_wire(raw)
    except Exception as exc:
        letter = dead_letter_from("orders", "inventory", 1, "5-0", raw, exc, 1, 1, 1, 1)
    add_dead_letter(orders, letter)
    fail(orders, place(1), charge)
    (typed,) = list_dead_letters("orders", "inventory", types="order.*").items
    assert typed.event_type == "order.placed"
    (found,) = list_dead_letters("orders", "inventory", text="ORDER O9").items
    assert found.event_type is None and found.wire == raw
    assert redrive("orders", "inventory", ids=[found.dlq_id or ""]) == 1
    ((_, fields),) = orders.xrange(REDRIVE)
    assert fields[b"e"] == raw


def test_letters_list_newest_first_or_oldest_first(orders):
    """The default order is newest first; reverse=False lists oldest first."""
    fill(orders, 4)
    stored = ids_in(orders, DLQ)
    newest = list_dead_letters("orders", "inventory")
    assert [x.dlq_id for x in newest.items] == stored[::-1]
    assert newest.next_cursor is None
    oldest = list_dead_letters("orders", "inventory", reverse=False)
    assert [x.dlq_id for x in oldest.items] == stored


def test_filters_match_event_type_error_type_and_text(orders):
    """Type patterns, bare/qualified/pattern error types and text all select."""
    fill(orders, 4)  # o0 ValueError, o1 PaymentDeclined, o2 ValueError, o3 ...
    fail(orders, place(7, "order.cancelled"), charge)

    def orders_of(**query: Any) -> list[str]:
        page = list_dead_letters("orders", "inventory", reverse=False, **query)
        return [x.event.data["order_id"] for x in page.items]

    assert orders_of(types="order.cancelled") == ["o7"]
    assert orders_of(types=["order.c*", "order.placed"]) == [
        "o0",
        "o1",
        "o2",
        "o3",
        "o7",
    ]
    assert orders_of(error_type="ValueError") == ["o0", "o2"]
    assert orders_of(error_type="PaymentDeclined") == ["o1", "o3", "o7"]
    assert orders_of(error_type=f"{__name__}.PaymentDeclined") == ["o1", "o3", "o7"]
    assert orders_of(error_type="tests.*") == ["o1", "o3", "o7"]
    assert orders_of(text="CARD DECLINED for order o3") == ["o3"]  # the message
    assert orders_of(text='"sku":"sku-2"') == ["o2"]  # the event's JSON
    assert orders_of(types="order.placed", error_type="ValueError", text="o2") == ["o2"]
    assert orders_of(types="stock.*") == []


@pytest.mark.parametrize("reverse", [True, False])
@pytest.mark.parametrize(
    ("query", "limit"),
    [({}, 5), ({}, 1), ({"error_type": "ValueError"}, 3), ({"text": "o1"}, 2)],
)
def test_pages_join_without_gaps_or_duplicates(orders, reverse, query, limit):
    """Following next_cursor visits every matching letter exactly once, in order."""
    fill(orders, 23)
    every = list_dead_letters(
        "orders", "inventory", limit=1000, reverse=reverse, **query
    )
    expected = [x.dlq_id for x in every.items]
    assert expected
    assert all_pages(limit=limit, reverse=reverse, **query) == expected


def test_a_short_scan_limit_gives_short_pages_that_still_join(orders):
    """When filters skip many letters a page may be short, never lossy."""
    fill(orders, 20)
    every = list_dead_letters("orders", "inventory", limit=99, error_type="ValueError")
    expected = [x.dlq_id for x in every.items]
    page = list_dead_letters(
        "orders", "inventory", error_type="ValueError", scan_limit=3, limit=10
    )
    assert len(page.items) < 10 and page.next_cursor is not None
    got = all_pages(error_type="ValueError", scan_limit=3, limit=10)
    assert got == expected and len(got) == 10


def test_letters_added_or_redriven_while_paging_cause_no_duplicates(orders):
    """Newest-first paging skips letters added since and survives removals."""
    fill(orders, 6)
    first = list_dead_letters("orders", "inventory", limit=2)
    fail(orders, place(50), reserve)  # newer than the first page
    redrive("orders", "inventory", ids=[ids_in(orders, DLQ)[3]])
    rest = all_pages(limit=2, cursor=first.next_cursor)
    seen = [x.dlq_id for x in first.items] + rest
    assert len(seen) == len(set(seen)) == 5


def test_bad_cursors_and_limits_are_refused_with_advice(orders):
    """A corrupt cursor, one of the other order, or limit 0 raise clearly."""
    fill(orders, 3)
    cursor = list_dead_letters("orders", "inventory", limit=1).next_cursor
    with pytest.raises(InvalidCursor, match="newest-first listing"):
        list_dead_letters("orders", "inventory", cursor=cursor, reverse=False)
    with pytest.raises(InvalidCursor, match="Pass next_cursor back unchanged"):
        list_dead_letters("orders", "inventory", cursor="page-2")
    with pytest.raises(InvalidDeadLetterQuery, match="at least 1"):
        list_dead_letters("orders", "inventory", limit=0)


def test_get_names_the_missing_letter_and_how_to_list_them(orders):
    """A missing id raises DeadLetterNotFound; a malformed one says the format."""
    with pytest.raises(DeadLetterNotFound, match="bus dlq list orders inventory"):
        get_dead_letter("orders", "inventory", "1700000000000-0")
    with pytest.raises(InvalidDeadLetterQuery, match="not a dead-letter id"):
        get_dead_letter("orders", "inventory", "latest")


def test_topic_and_group_names_are_checked(orders):
    """Names that could not be a topic or group are refused before any key is built."""
    with pytest.raises(InvalidTopicName):
        list_dead_letters("Orders}", "inventory")
    with pytest.raises(InvalidGroupName):
        count_dead_letters("orders", "in*")


def test_redrive_one_moves_it_to_that_groups_redrive_stream_only(orders):
    """The letter leaves the DLQ and lands, bytes identical, in its group's stream."""
    letters = fill(orders, 3)
    fill(orders, 1, group="shipping")
    target = ids_in(orders, DLQ)[1]
    assert redrive("orders", "inventory", ids=[target]) == 1
    assert target not in ids_in(orders, DLQ) and orders.xlen(DLQ) == 2
    ((_, fields),) = orders.xrange(REDRIVE)
    original = letters[1]
    assert fields == {
        b"e": original.wire,
        b"topic": b"orders",
        b"partition": str(original.partition).encode(),
        b"id": original.stream_id.encode(),
        b"dlq_id": target.encode(),
        b"attempts": b"3",
        b"first_failure_ms": b"1000",
    }
    assert orders.exists(OTHER_REDRIVE) == 0
    assert orders.xlen(dead_letter_key("orders", "shipping")) == 1


def test_redrive_selected_ids_oldest_first_skipping_missing_ones(orders):
    """Selected ids move in DLQ order; ids already gone are not counted."""
    fill(orders, 5)
    stored = ids_in(orders, DLQ)
    chosen = [stored[4], stored[0], stored[2], "1-0", stored[0]]
    assert redrive("orders", "inventory", ids=chosen) == 3
    moved = [f[b"dlq_id"].decode() for _, f in orders.xrange(REDRIVE)]
    assert moved == [stored[0], stored[2], stored[4]]
    assert ids_in(orders, DLQ) == [stored[1], stored[3]]


def test_redrive_by_filter_moves_only_matching_letters(orders):
    """A filter redrive moves exactly the letters the same filter lists."""
    fill(orders, 6)
    fail(orders, place(9, "order.cancelled"), reserve)
    matching = list_dead_letters("orders", "inventory", error_type="ValueError")
    assert redrive("orders", "inventory", error_type="ValueError", dry_run=True) == 4
    assert orders.xlen(DLQ) == 7
    assert redrive("orders", "inventory", error_type="ValueError") == 4
    moved = {f[b"dlq_id"].decode() for _, f in orders.xrange(REDRIVE)}
    assert moved == {x.dlq_id for x in matching.items}
    assert redrive("orders", "inventory", types="order.cancelled") == 0
    assert redrive("orders", "inventory", text="o3") == 1
    assert orders.xlen(DLQ) == 2


def test_redrive_all_conserves_every_letter(orders, monkeypatch):
    """Over several chunks, every letter is in exactly one stream before and after."""
    monkeypatch.setattr("eventbus._dlq_select.CHUNK", 4)
    fill(orders, 11)
    before = ids_in(orders, DLQ)
    assert redrive("orders", "inventory", all=True) == 11
    assert orders.xlen(DLQ) == 0
    moved = [f[b"dlq_id"].decode() for _, f in orders.xrange(REDRIVE)]
    assert moved == before
    assert orders.exists(OTHER_REDRIVE) == 0


def test_concurrent_redrives_and_purges_never_duplicate_or_lose(orders, monkeypatch):
    """Two redrives and a purge racing over the same letters: each ends up once."""
    monkeypatch.setattr("eventbus._dlq_select.CHUNK", 5)
    fill(orders, 120)
    before = set(ids_in(orders, DLQ))
    results: dict[str, int] = {}
    start = threading.Barrier(3)

    def run(name: str, action: Callable[[], int]) -> None:
        start.wait()
        results[name] = action()

    threads = [
        threading.Thread(target=run, args=(name, action))
        for name, action in (
            ("a", lambda: redrive("orders", "inventory", all=True)),
            ("b", lambda: redrive("orders", "inventory", error_type="ValueError")),
            ("c", lambda: purge("orders", "inventory", error_type="PaymentDeclined")),
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    moved = [f[b"dlq_id"].decode() for _, f in orders.xrange(REDRIVE)]
    assert len(moved) == len(set(moved)) == results["a"] + results["b"]
    assert results["a"] + results["b"] + results["c"] == 120
    assert orders.xlen(DLQ) == 0
    assert set(moved) <= before


def test_letters_dead_lettered_during_a_redrive_all_stay_for_the_next(
    orders, monkeypatch
):
    """Redrive all moves the letters present when it starts, not newer ones."""
    monkeypatch.setattr("eventbus._dlq_select.CHUNK", 2)
    fill(orders, 5)
    real = deadletters.chunks

    def chunks_with_a_new_failure(*args: Any) -> Iterator[list[str]]:
        for number, chunk in enumerate(real(*args)):
            yield chunk
            if number == 0:  # a redriven event failed again meanwhile
                fail(orders, place(99), reserve)

    monkeypatch.setattr(deadletters, "chunks", chunks_with_a_new_failure)
    assert redrive("orders", "inventory", all=True) == 5
    (left,) = list_dead_letters("orders", "inventory").items
    assert left.event.data["order_id"] == "o99"


def test_redrive_and_purge_need_exactly_one_selection(orders):
    """No selection, or two at once, is refused before anything moves."""
    fill(orders, 2)
    for kwargs in (
        {},
        {"ids": ["1-0"], "all": True},
        {"types": "order.*", "all": True},
    ):
        with pytest.raises(InvalidDeadLetterQuery, match="exactly one way"):
            redrive("orders", "inventory", **kwargs)
        with pytest.raises(InvalidDeadLetterQuery, match="exactly one way"):
            purge("orders", "inventory", **kwargs)
    with pytest.raises(InvalidDeadLetterQuery, match="not a dead-letter id"):
        purge("orders", "inventory", ids=["oops"])
    assert orders.xlen(DLQ) == 2 and orders.exists(REDRIVE) == 0


def test_purge_by_id_filter_and_all(orders):
    """Purge deletes exactly what it names; a dry run deletes nothing."""
    fill(orders, 6)
    stored = ids_in(orders, DLQ)
    assert purge("orders", "inventory", ids=[stored[0], "1-0"]) == 1
    assert purge("orders", "inventory", error_type="ValueError", dry_run=True) == 2
    assert orders.xlen(DLQ) == 5
    assert purge("orders", "inventory", error_type="ValueError") == 2
    assert ids_in(orders, DLQ) == [stored[1], stored[3], stored[5]]
    assert purge("orders", "inventory", all=True, dry_run=True) == 3
    assert purge("orders", "inventory", all=True) == 3
    assert orders.xlen(DLQ) == 0 and orders.exists(REDRIVE) == 0
    assert purge("orders", "inventory", all=True) == 0


def test_counts_per_topic_and_group_ignore_other_keys(orders):
    """Counts cover every DLQ stream; partition and redrive streams are not DLQs."""
    fill(orders, 3)
    fill(orders, 1, group="shipping")
    other = DeadLetter(**{**fill(orders, 1)[0].__dict__, "topic": "payments"})
    add_dead_letter(orders, other)
    add_dead_letter(orders, other)
    redrive("orders", "inventory", ids=[ids_in(orders, DLQ)[0]])
    assert count_dead_letters() == {
        ("orders", "inventory"): 3,
        ("orders", "shipping"): 1,
        ("payments", "inventory"): 2,
    }
    assert count_dead_letters("orders") == {
        ("orders", "inventory"): 3,
        ("orders", "shipping"): 1,
    }
    assert count_dead_letters(group="inventory") == {
        ("orders", "inventory"): 3,
        ("payments", "inventory"): 2,
    }
    assert count_dead_letters("orders", "shipping") == {("orders", "shipping"): 1}
    assert count_dead_letters("orders", "contact") == {}
    purge("orders", "shipping", all=True)
    assert count_dead_letters("orders", "shipping") == {("orders", "shipping"): 0}


def test_dead_letters_need_no_topic_row(bus):
    """Letters of a topic removed from the database can still be read and purged."""
    exc = ValueError("gone")
    add_dead_letter(
        bus, dead_letter_from("legacy", "audit", 0, "1-0", b"{}", exc, 1, 1, 1, 1)
    )
    assert [x.error_message for x in list_dead_letters("legacy", "audit").items] == [
        "gone"
    ]
    assert purge("legacy", "audit", all=True) == 1
