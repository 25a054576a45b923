"""Processing one source's fetched entries in order, then committing in one step."""

from __future__ import annotations

import logging
import time
import traceback
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any

import redis

from eventbus._bounds import stream_ms
from eventbus.consumer.handling import (
    Watchdog,
    already_processed,
    run_handler,
    run_together,
)
from eventbus.consumer.membership import Source
from eventbus.consumer.subscriptions import RetryPolicy, Subscription, route
from eventbus.deadletters import add_dead_letter, dead_letter_from
from eventbus.envelope import FIELD, Event, Position
from eventbus.exceptions import HandlerTimeout, SchemaViolation, WorkerDied
from eventbus.groups import record_positions
from eventbus.keys import attempts_key, stats_key
from eventbus.schemas import EventType, get_event_type
from eventbus.streams import server_ms, text

logger = logging.getLogger("eventbus.consumer")

Entry = tuple[str, dict[bytes, bytes]]


@dataclass
class SourceState:
    """What one owned source has fetched and whether it waits for a retry."""

    source: Source
    buffer: deque[Entry] = field(default_factory=deque)
    pending_cursor: str | None = "0-0"  # reading own pending entries; None: done
    retry_at: float = 0.0  # monotonic time before which the head is not retried
    # Failed attempts per stream id: (attempts, first failure ms). Loaded once
    # when the source is taken over (this member is then its only writer).
    failures: dict[str, tuple[int, int]] | None = None
    # Deliveries before this one of re-delivered pending entries delivered
    # more than once (XPENDING); filled on takeover only, empty on the hot path.
    deliveries: dict[str, int] = field(default_factory=dict)

    def ready(self, now: float) -> bool:
        return bool(self.buffer) and now >= self.retry_at


@dataclass
class Outcome:
    """Counters of one processed batch (also written to the stats hash)."""

    processed: int = 0
    skipped: int = 0
    duplicates: int = 0
    failed: int = 0
    dead: int = 0
    beyond_end: int = 0  # at or after the group's end bound: acked, not handled
    latency_us: int = 0

    def as_fields(self) -> dict[str, int]:
        return {k: v for k, v in vars(self).items() if v}


class BatchProcessor:
    """Run a group's handlers over one source's buffered entries."""

    def __init__(
        self,
        client: redis.Redis,
        group: str,
        subs: dict[str, list[Subscription]],
        watchdog: Watchdog,
        bounds: dict[str, int | None] | None = None,
    ) -> None:
        self.client = client
        self.group = group
        self.subs = subs
        self.watchdog = watchdog
        # The group's end bound per topic; the runner refreshes this very dict
        # with its heartbeat, so a batch costs no extra round trip for it.
        self.bounds = bounds if bounds is not None else {}
        self._types: dict[str, EventType | None] = {}
        self._routes: dict[tuple[str, str], Subscription | None] = {}
        self.idempotent_topics = {
            topic: any(sub.idempotent for sub in topic_subs)
            for topic, topic_subs in subs.items()
        }

    def route(self, topic: str, event_type: str) -> Subscription | None:
        """Return the subscription for an event type (cached: fnmatch is slow)."""
        key = (topic, event_type)
        if key not in self._routes:
            self._routes[key] = route(self.subs[topic], event_type)
        return self._routes[key]

    def process(self, state: SourceState) -> Outcome:
        """Handle buffered entries in order until one fails; commit what is done."""
        source = state.source
        inside = self._inside(state)
        if inside == 0:
            return self._past_end(state)
        outcome = Outcome()
        done: list[str] = []
        cleared: list[str] = []  # ids with a failure record to delete
        letters = []
        # Entries beyond the end stay buffered; the next call acks them.
        entries = list(state.buffer)[:inside]
        events = [self._decode(source, sid, fields) for sid, fields in entries]
        seen = (
            already_processed(
                self.group,
                (
                    e.id
                    for e in events
                    if isinstance(e, Event)
                    and (sub := self.route(source.topic, e.type))
                    and sub.idempotent
                ),
            )
            if self.idempotent_topics.get(source.topic)
            else set()
        )
        failures = self._failures(state)
        doomed = self._doomed(state, entries, events) if state.deliveries else {}
        jobs = [
            (sid, sub, event)
            for (sid, _), event in zip(entries, events, strict=True)
            if isinstance(event, Event)
            and (sub := self.route(source.topic, event.type))
            and not (sub.idempotent and event.id in seen)
        ]
        injected: tuple[str, BaseException] | None = None
        if len(jobs) > 1 and not doomed and all(sub.idempotent for _, sub, _ in jobs):
            together = run_together([(sub, ev) for _, sub, ev in jobs], self.watchdog)
            if together.latencies_us is not None:
                outcome.processed = len(jobs)
                outcome.latency_us = sum(together.latencies_us)
                return self._finish_all(state, entries, events, seen, failures, outcome)
            if together.failed_index is not None and together.error is not None:
                # Count the failure once, where it happened; the events before
                # it were rolled back and run again one by one below.
                injected = (jobs[together.failed_index][0], together.error)
        for (sid, fields), event in zip(entries, events, strict=True):
            if not isinstance(event, Event):  # undecodable or invalid: no retry helps
                letters.append(self._letter(source, sid, fields, event, 1, None))
                done.append(sid)
                continue
            sub = self.route(source.topic, event.type)
            if sub is None:
                outcome.skipped += 1
                done.append(sid)
                continue
            if sub.idempotent and event.id in seen:
                outcome.duplicates += 1
                done.append(sid)
                continue
            if sid in doomed:
                letters.append(self._died(source, sid, fields, doomed[sid], failures))
                cleared.append(sid)
                done.append(sid)
                continue
            started = time.perf_counter()
            try:
                if injected is not None and injected[0] == sid:
                    raise injected[1]
                ran = run_handler(sub, event, self.watchdog)
            except (Exception, HandlerTimeout) as exc:
                outcome.failed += 1
                attempts, first_ms = self._record_failure(source, sid, failures)
                if attempts < sub.retry.max_attempts:
                    delay = sub.retry.delay(attempts)
                    logger.warning(
                        "Handler %s failed on %s %s (attempt %d of %d), retrying in "
                        "%.2fs: %s: %s",
                        sub.name,
                        source.label(),
                        sid,
                        attempts,
                        sub.retry.max_attempts,
                        delay,
                        type(exc).__name__,
                        exc,
                    )
                    state.retry_at = time.monotonic() + delay
                    break
                letters.append(
                    self._letter(source, sid, fields, exc, attempts, first_ms)
                )
                cleared.append(sid)
                done.append(sid)
                continue
            if ran:
                outcome.processed += 1
                outcome.latency_us += int((time.perf_counter() - started) * 1e6)
            else:  # another owner committed it first (its lease had lapsed)
                outcome.duplicates += 1
            if sid in failures:
                cleared.append(sid)
            done.append(sid)
        outcome.dead = len(letters)
        self._commit(source, done, cleared, letters, outcome)
        for sid in cleared:
            failures.pop(sid, None)
        for _ in done:
            state.buffer.popleft()
        if state.deliveries:
            for sid in done:
                state.deliveries.pop(sid, None)
        if len(done) == len(entries):
            state.retry_at = 0.0
        return outcome

    def _finish_all(
        self,
        state: SourceState,
        entries: list[Entry],
        events: list[Event | Exception],
        seen: set[str],
        failures: dict[str, tuple[int, int]],
        outcome: Outcome,
    ) -> Outcome:
        """Commit a batch whose handlers all ran in one transaction."""
        source = state.source
        letters = []
        for (sid, fields), event in zip(entries, events, strict=True):
            if not isinstance(event, Event):
                letters.append(self._letter(source, sid, fields, event, 1, None))
            elif (sub := self.route(source.topic, event.type)) is None:
                outcome.skipped += 1
            elif sub.idempotent and event.id in seen:
                outcome.duplicates += 1
        done = [sid for sid, _ in entries]
        cleared = [sid for sid in done if sid in failures]
        outcome.dead = len(letters)
        self._commit(source, done, cleared, letters, outcome)
        for sid in cleared:
            failures.pop(sid, None)
        for _ in entries:
            state.buffer.popleft()
        state.retry_at = 0.0
        return outcome

    def _inside(self, state: SourceState) -> int:
        """Return how many buffered entries come before the group's end bound."""
        buffer = state.buffer
        # Redriven letters are handled whatever their time: they were inside
        # the range when they failed.
        until = None if state.source.is_redrive else self.bounds.get(state.source.topic)
        if until is None or not buffer or stream_ms(buffer[-1][0]) < until:
            return len(buffer)
        for index, (sid, _) in enumerate(buffer):  # ids ascend within a source
            if stream_ms(sid) >= until:
                return index
        return len(buffer)

    def _past_end(self, state: SourceState) -> Outcome:
        """Ack buffered entries at or after the end bound without handling them."""
        done = [sid for sid, _ in state.buffer]
        failures = self._failures(state)
        cleared = [sid for sid in done if sid in failures]
        outcome = Outcome(beyond_end=len(done))
        self._commit(state.source, done, cleared, [], outcome)
        for sid in cleared:
            failures.pop(sid, None)
        state.buffer.clear()
        state.deliveries.clear()
        state.retry_at = 0.0
        return outcome

    def _decode(
        self, source: Source, sid: str, fields: dict[bytes, bytes]
    ) -> Event | Exception:
        try:
            if source.is_redrive:
                position = Position(
                    text(fields[b"topic"]),
                    int(fields[b"partition"] or -1),
                    text(fields[b"id"]),
                )
                event = Event.from_wire(fields[FIELD], position)
            else:
                event = Event.from_entry(source.topic, source.partition, sid, fields)
            event_type = self._event_type(source.topic, event)
            if event_type is not None:
                event_type.validate(event.data)
            return event
        except SchemaViolation as exc:
            return exc
        except Exception as exc:  # not an envelope of ours: dead-letter it
            return exc

    def _event_type(self, topic: str, event: Event) -> EventType | None:
        uri = event.dataschema or ""
        if uri not in self._types:
            found = None
            _, _, tail = uri.rpartition(":")
            if tail.isdigit():
                try:
                    found = get_event_type(topic, event.type, int(tail))
                except Exception:
                    # A version this process does not know: the producer
                    # validated it; the handler gets the data as it is.
                    found = None
            self._types[uri] = found
        return self._types[uri]

    def _doomed(
        self, state: SourceState, entries: list[Entry], events: list[Event | Exception]
    ) -> dict[str, int]:
        """Return the re-delivered entries that killed their worker too often."""
        doomed = {}
        for (sid, _), event in zip(entries, events, strict=True):
            deliveries = state.deliveries.get(sid)
            if deliveries is None or not isinstance(event, Event):
                continue
            sub = self.route(state.source.topic, event.type)
            if sub is not None and died_too_often(deliveries, sub.retry):
                doomed[sid] = deliveries
        return doomed

    def _died(
        self,
        source: Source,
        sid: str,
        fields: dict[bytes, bytes],
        deaths: int,
        failures: dict[str, tuple[int, int]],
    ) -> Any:
        """Return the dead letter of an entry whose worker died ``deaths`` times."""
        exc = WorkerDied(
            f"The worker handling this event died {deaths} times before "
            "acknowledging it (a crash, an OOM kill or os._exit in the handler?), "
            "so it was not delivered again. Fix the handler, then redrive it."
        )
        first_ms = failures[sid][1] if sid in failures else None
        # Nothing was raised in this process: a traceback would only show this line.
        return replace(
            self._letter(source, sid, fields, exc, deaths, first_ms), traceback=""
        )

    def _failures(self, state: SourceState) -> dict[str, tuple[int, int]]:
        if state.failures is None:
            raw = self.client.hgetall(attempts_key(state.source.key, self.group))
            state.failures = {}
            for key, value in raw.items():
                attempts, _, first = text(value).partition(":")
                state.failures[text(key)] = (int(attempts), int(first))
        return state.failures

    def _record_failure(
        self, source: Source, sid: str, failures: dict[str, tuple[int, int]]
    ) -> tuple[int, int]:
        """Count one more failed attempt, persisted so a new owner keeps counting."""
        attempts, first = failures.get(sid, (0, server_ms(self.client)))
        attempts += 1
        failures[sid] = (attempts, first)
        self.client.hset(
            attempts_key(source.key, self.group), sid, f"{attempts}:{first}"
        )
        return attempts, first

    def _letter(
        self,
        source: Source,
        sid: str,
        fields: dict[bytes, bytes],
        exc: BaseException,
        attempts: int,
        first_ms: int | None,
    ) -> Any:
        now = server_ms(self.client)
        if source.is_redrive:
            topic, partition = text(fields[b"topic"]), int(fields[b"partition"] or -1)
            original = text(fields[b"id"])
        else:
            topic, partition, original = source.topic, source.partition, sid
        logger.error(
            "Dead-lettered %s partition %s id %s for group %r after %d "
            "attempt(s): %s: %s",
            topic,
            partition,
            original,
            self.group,
            attempts,
            type(exc).__name__,
            "".join(traceback.format_exception_only(exc)).strip(),
        )
        return dead_letter_from(
            topic,
            self.group,
            partition if partition >= 0 else None,
            original,
            fields.get(FIELD, b""),
            exc,
            attempts,
            first_ms or now,
            now,
            now,
        )

    def _commit(
        self,
        source: Source,
        done: list[str],
        cleared: list[str],
        letters: list[Any],
        outcome: Outcome,
    ) -> None:
        fields = outcome.as_fields()
        if not done and not fields:
            return
        # One MULTI/EXEC: acks, dead letters and position move together, so a
        # crash never leaves an event both dead-lettered and pending. (Its
        # keys span hash tags: on Redis Cluster this would have to become
        # dead-letter first, then ack; the bus targets one primary today.)
        pipe = self.client.pipeline(transaction=True)
        if done:
            pipe.xack(source.key, self.group, *done)
            for letter in letters:
                add_dead_letter(pipe, letter)
            if cleared:
                pipe.hdel(attempts_key(source.key, self.group), *cleared)
            if source.is_redrive:
                # Only this group reads its redrive stream: handled letters
                # can go, or the stream would grow forever.
                pipe.xdel(source.key, *done)
            else:
                record_positions(
                    pipe, source.topic, source.partition, {self.group: done[-1]}
                )
        stats = stats_key(source.key, self.group)
        for name, value in fields.items():
            pipe.hincrby(stats, name, value)
        pipe.hset(stats, "last_ms", int(time.time() * 1000))
        pipe.execute()


def died_too_often(deliveries: int, retry: RetryPolicy) -> bool:
    """Return whether an entry delivered ``deliveries`` times, never acked, is poison.

    Every delivery that was never acked ended with its worker gone (or its
    lease lost). One more than the retry budget is allowed: the entries
    fetched with a poison event die with it once more after the first death,
    before the runner re-delivers them one by one (runner._read_pending).
    """
    return deliveries > retry.max_attempts + 1
