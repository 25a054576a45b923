"""The transactional outbox publishes each committed event exactly once."""

from __future__ import annotations

import io
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from eventbus import Outgoing, publish_many
from eventbus.client import get_redis
from eventbus.envelope import Event
from eventbus.exceptions import EventTooLarge, SchemaViolation, UnknownEventType
from eventbus.keys import outbox_lease_key, stream_key
from eventbus.leases import Lease
from eventbus.models import OutboxEvent
from eventbus.outbox import enqueue as outbox_enqueue
from eventbus.outbox import (
    outbox_backlog,
    publish_on_commit,
    purge_published,
    relay_pending,
    run_relay,
)
from eventbus.outbox.relay import claim, write_rows
from eventbus.schemas import unregister_event_type
from tests.eventbus.outbox_child import TOPIC, TYPE, register
from tests.processes import child_env

pytestmark = [pytest.mark.db_heavy, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def probe_type() -> Iterator[None]:
    register()
    outbox_enqueue._paused_until.clear()
    yield
    outbox_enqueue._paused_until.clear()
    unregister_event_type(TYPE)


@pytest.fixture
def topic(make_topic):
    return make_topic(TOPIC, partitions=3)


@contextmanager
def relay_busy() -> Iterator[None]:
    """Hold the relay lease, as a relay in another process would."""
    lease = Lease(get_redis(), outbox_lease_key("default"), 60_000)
    deadline = time.monotonic() + 5
    while not lease.acquire():  # a running relay holds it for one batch at most
        assert time.monotonic() < deadline, "the relay lease stayed taken"
        time.sleep(0.01)
    try:
        yield
    finally:
        lease.release()


def enqueue(count: int, keys: int = 1) -> list[str]:
    """Commit ``count`` outbox rows while another relay is busy; return their ids."""
    with relay_busy(), transaction.atomic():
        return [
            publish_on_commit(
                TOPIC, TYPE, {"n": n, "key": f"k{n % keys}"}, key=f"k{n % keys}"
            )
            for n in range(count)
        ]


def log_events(client: redis.Redis, partitions: int = 3) -> list[Event]:
    """Every event in the topic's log, partition by partition, in stream order."""
    return [
        Event.from_entry(TOPIC, p, sid, fields)
        for p in range(partitions)
        for sid, fields in client.xrange(stream_key(TOPIC, p))
    ]


def test_event_reaches_the_log_after_commit_and_not_before(topic, bus):
    """The on-commit relay publishes at commit; nothing is in the log before it."""
    with transaction.atomic():
        event_id = publish_on_commit(TOPIC, TYPE, {"n": 1}, key="c1")
        assert log_events(bus) == []
    [event] = log_events(bus)
    assert event.id == event_id
    row = OutboxEvent.objects.get(event_id=event_id)
    assert row.published_at is not None
    assert row.stream_id == event.position.stream_id


def test_events_of_one_transaction_keep_their_order_with_one_relay_hook(topic, bus):
    """Ten events of one transaction share one commit hook and keep their order."""
    with transaction.atomic():
        ids = [publish_on_commit(TOPIC, TYPE, {"n": n}, key="c1") for n in range(10)]
        assert len(connection.run_on_commit) == 1
    assert [e.id for e in log_events(bus)] == ids
    assert outbox_backlog().pending == 0


def test_autocommit_publish_goes_out_at_once(topic, bus):
    """Outside a transaction the row commits and is relayed during the call."""
    event_id = publish_on_commit(TOPIC, TYPE, {"n": 1})
    assert [e.id for e in log_events(bus)] == [event_id]


def test_rolled_back_transaction_publishes_nothing(topic, bus):
    """A rolled-back transaction leaves no row and no event, even after a relay."""
    with pytest.raises(RuntimeError), transaction.atomic():
        publish_on_commit(TOPIC, TYPE, {"n": 1})
        raise RuntimeError("the business action failed")
    assert relay_pending() == 0
    assert OutboxEvent.objects.count() == 0
    assert log_events(bus) == []


def test_rolled_back_savepoint_drops_only_its_event(topic, bus):
    """An event written in a rolled-back savepoint is dropped; the others go out."""
    with transaction.atomic():
        kept = publish_on_commit(TOPIC, TYPE, {"n": 1})
        try:
            with transaction.atomic():
                publish_on_commit(TOPIC, TYPE, {"n": 2})
                raise RuntimeError("inner step failed")
        except RuntimeError:
            pass
        later = publish_on_commit(TOPIC, TYPE, {"n": 3})
    assert sorted(e.id for e in log_events(bus)) == sorted([kept, later])


def test_bad_input_raises_at_the_call_and_writes_no_row(topic, bus, settings):
    """Invalid data, unknown types and oversized events raise before any write."""
    settings.BUS = {**settings.BUS, "MAX_EVENT_BYTES": 200}
    with transaction.atomic():
        with pytest.raises(SchemaViolation):
            publish_on_commit(TOPIC, TYPE, {"n": "one"})
        with pytest.raises(UnknownEventType):
            publish_on_commit(TOPIC, "probe.unknown", {"n": 1})
        with pytest.raises(EventTooLarge):
            publish_on_commit(TOPIC, TYPE, {"n": 1, "key": "x" * 500})
        # The caller's transaction is still usable.
        assert OutboxEvent.objects.count() == 0
    assert log_events(bus) == []


@pytest.mark.slow
def test_process_killed_right_after_commit_still_publishes_once(topic, bus):
    """A producer that dies after COMMIT, before any relay, loses no event."""
    child = subprocess.run(
        [sys.executable, "-m", "tests.eventbus.outbox_child"],
        cwd=ROOT,
        env=child_env(),
        capture_output=True,
        timeout=60,
    )
    assert child.returncode == 0, child.stderr.decode()
    event_id = child.stdout.decode().strip()
    row = OutboxEvent.objects.get(event_id=event_id)
    assert (row.attempted_at_ms, row.published_at) == (None, None)
    assert log_events(bus) == []

    assert relay_pending() == 1
    assert relay_pending() == 0
    assert [e.id for e in log_events(bus)] == [event_id]


def test_relay_that_died_after_writing_is_not_repeated(topic, bus):
    """Rows written to the log but never marked are recognised, not written again."""
    ids = enqueue(5)
    # Steps 2 and 3 of a relay that then died before marking the rows.
    batch, _ = claim(bus, 500, "default")
    written = write_rows(bus, batch)
    assert OutboxEvent.objects.filter(published_at__isnull=True).count() == 5

    assert relay_pending() == 5
    assert [e.id for e in log_events(bus)] == ids
    rows = OutboxEvent.objects.order_by("id")
    assert [r.stream_id for r in rows] == [p.position.stream_id for p in written]
    assert relay_pending() == 0


def test_recovery_pages_through_a_busy_partition(topic, bus):
    """Rows written after thousands of other events of their partition are found."""
    ids = enqueue(3)
    batch, _ = claim(bus, 500, "default")
    others = [Outgoing(TOPIC, TYPE, {"n": n}, key="k0") for n in range(2500)]
    publish_many(others)
    write_rows(bus, batch)  # then the relay died before marking the rows

    assert relay_pending() == 3
    events = log_events(bus)
    assert len(events) == 2503
    assert [e.id for e in events if e.id in set(ids)] == ids


def test_relay_that_died_before_writing_sends_the_rows(topic, bus):
    """Rows marked as attempted but never written go out once with the next batch."""
    ids = enqueue(3)
    claim(bus, 500, "default")  # attempt committed, then the relay died
    assert relay_pending() == 3
    assert sorted(e.id for e in log_events(bus)) == sorted(ids)


def test_relay_gives_way_while_another_holds_the_lease(topic, bus):
    """A relay that cannot take the lease returns 0 and leaves the rows alone."""
    enqueue(2)
    with relay_busy():
        assert relay_pending() == 0
        assert not OutboxEvent.objects.filter(attempted_at_ms__isnull=False).exists()
    assert relay_pending() == 2


def test_two_relays_at_once_publish_every_event_once_in_key_order(topic, bus):
    """Two relays racing over 1,000 rows write each event once, keys in order."""
    ids = enqueue(1000, keys=7)
    counts: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def relay() -> None:
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline:
                with lock:
                    if sum(counts) >= 1000:
                        return
                done = relay_pending(limit=37)
                with lock:
                    counts.append(done)
                if not done:
                    time.sleep(0.001)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=relay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert sum(counts) == 1000

    events = log_events(bus)
    assert len(events) == 1000
    assert {e.id for e in events} == set(ids)
    by_key: dict[str, list[int]] = defaultdict(list)
    for event in events:
        by_key[event.partitionkey].append(event.data["n"])
    assert all(ns == sorted(ns) for ns in by_key.values())
    assert sum(len(ns) for ns in by_key.values()) == 1000


@pytest.mark.slow
def test_commit_while_redis_is_down_returns_and_relay_publishes_later(
    topic, redis_server, bus_on
):
    """With Redis down the commit succeeds; the relay publishes once Redis is back."""
    server = redis_server()
    bus_on(server.url)
    stop = threading.Event()
    published: list[int] = []

    def loop() -> None:
        try:
            published.append(run_relay(poll_interval=0.05, stop=stop))
        finally:
            connection.close()

    server.kill()
    event_id = publish_on_commit(TOPIC, TYPE, {"n": 1})  # must not raise
    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.5)  # the relay fails and backs off meanwhile
    server.start()
    client = redis.Redis(port=server.port)
    deadline = time.monotonic() + 20
    while not client.exists(
        stream_key(TOPIC, 0), stream_key(TOPIC, 1), stream_key(TOPIC, 2)
    ):
        assert time.monotonic() < deadline, (
            "the relay did not publish after Redis came back"
        )
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    assert published == [1]
    assert [e.id for e in log_events(client)] == [event_id]


def test_purge_deletes_only_old_published_rows(topic, bus):
    """Published rows older than the retention are deleted; others stay."""
    enqueue(4)
    relay_pending(limit=3)
    old = timezone.now() - timedelta(days=8)
    first, second = OutboxEvent.objects.order_by("id")[:2]
    OutboxEvent.objects.filter(pk=first.pk).update(published_at=old)
    assert purge_published(timedelta(days=7)) == 1
    assert OutboxEvent.objects.count() == 3
    assert purge_published(timedelta(0)) == 2
    assert outbox_backlog().pending == 1


def test_backlog_counts_unpublished_rows_and_their_age(topic, bus):
    """The backlog reports unpublished rows and when the oldest was written."""
    before = timezone.now()
    assert outbox_backlog() == (0, None)
    enqueue(3)
    count, oldest = outbox_backlog()
    assert count == 3 and before <= oldest <= timezone.now()
    relay_pending()
    assert outbox_backlog() == (0, None)


def test_cli_relay_once_publishes_the_backlog_and_reports(topic, bus):
    """`bus relay --once` drains the outbox; `--stats` shows what is pending."""
    enqueue(3)
    out = io.StringIO()
    call_command("bus", "relay", "--stats", stdout=out)
    assert "│ 3 " in out.getvalue()
    out = io.StringIO()
    call_command("bus", "relay", "--once", "--batch", "2", stdout=out)
    assert "Published 3 event(s); 0 left in the outbox." in out.getvalue()
    assert len(log_events(bus)) == 3


def test_cli_relay_with_timeout_exits_when_another_relay_is_busy(topic, bus):
    """`bus relay --timeout` returns on time even if it never gets the lease."""
    enqueue(1)
    out = io.StringIO()
    started = time.monotonic()
    with relay_busy():
        call_command("bus", "relay", "--timeout", "0.3", stdout=out)
    assert 0.3 <= time.monotonic() - started < 5
    assert "Published 0 event(s); 1 left in the outbox" in out.getvalue()


@pytest.mark.slow
def test_cli_relay_daemon_publishes_new_rows_and_stops_on_sigterm(topic, bus):
    """`manage.py bus relay` keeps relaying new rows and exits cleanly on SIGTERM."""
    env = child_env()
    enqueue(2)
    relay = subprocess.Popen(
        [sys.executable, "manage.py", "bus", "relay", "--poll-interval", "0.05"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_for(lambda: len(log_events(bus)) == 2, relay)
        more = enqueue(3)
        _wait_for(lambda: len(log_events(bus)) == 5, relay)
    finally:
        relay.send_signal(signal.SIGTERM)
        out, err = relay.communicate(timeout=30)
    assert relay.returncode == 0, err.decode()
    assert "Published 5 event(s); 0 left in the outbox." in out.decode()
    ids = [e.id for e in log_events(bus)]
    assert len(set(ids)) == 5 and set(more) <= set(ids)


def _wait_for(done, process: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert process.poll() is None, process.communicate()[1].decode()
        assert time.monotonic() < deadline, "the relay did not publish in time"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=False)
def test_captured_commit_hooks_publish_in_testcase_style_tests(
    topic, bus, django_capture_on_commit_callbacks
):
    """Inside a test transaction, executing the captured hooks publishes the event."""
    with django_capture_on_commit_callbacks(execute=True) as hooks:
        event_id = publish_on_commit(TOPIC, TYPE, {"n": 1})
    assert len(hooks) == 1
    assert [e.id for e in log_events(bus)] == [event_id]
