"""Dead letters: list, inspect, count, redrive to their own group, purge.

A group has one dead-letter stream per topic (``dead_letter_key``) and one
redrive stream (``redrive_key``) that only that group's runtime consumes, so
a redriven event goes back to that group alone (DESIGN.md, Failure). Both
keys carry the ``{topic}`` hash tag: they share a Redis Cluster slot, which
lets one script move letters from one to the other atomically.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from eventbus._dlq_letter import DeadLetter, add_dead_letter, dead_letter_from
from eventbus._dlq_select import (
    check_id,
    chunks,
    count_selected,
    cursor_id,
    dlq_key,
    make_cursor,
    make_filter,
    selection,
)
from eventbus._targets import validate_group_name
from eventbus.client import get_redis, redis_errors
from eventbus.exceptions import DeadLetterNotFound, InvalidDeadLetterQuery
from eventbus.keys import dead_letter_key, redrive_key
from eventbus.reading import entries
from eventbus.streams import parse_id
from eventbus.streams import text as as_text
from eventbus.topics import validate_topic_name

__all__ = [
    "DeadLetter",
    "DeadLetterPage",
    "add_dead_letter",
    "count_dead_letters",
    "dead_letter_from",
    "get_dead_letter",
    "list_dead_letters",
    "purge",
    "redrive",
]

logger = logging.getLogger(__name__)

# Letters examined per list call at most: a page whose filters skip many
# letters comes back short (even empty) with a cursor, not slow.
SCAN_LIMIT = 10_000
_KEY_RE = re.compile(r"^sy:\{(?P<topic>[^}]+)\}:dlq:(?P<group>.+)$")

# KEYS[1]: dead-letter stream, KEYS[2]: redrive stream; ARGV: dead-letter ids.
# Each letter still present is appended to the redrive stream and deleted
# from the dead-letter stream in one atomic step, so it is never in both or
# neither; one redriven or purged meanwhile (another operator) is skipped,
# so it is never redriven twice. Fields are copied inside Redis: the wire
# bytes arrive unchanged. "e" is envelope.FIELD.
_MOVE = """
local moved = 0
for _, id in ipairs(ARGV) do
  local found = redis.call('XRANGE', KEYS[1], id, id)
  if #found == 1 then
    local raw, f = found[1][2], {}
    for i = 1, #raw, 2 do f[raw[i]] = raw[i + 1] end
    redis.call('XADD', KEYS[2], '*',
      'e', f['e'] or '', 'topic', f['topic'] or '',
      'partition', f['partition'] or '', 'id', f['id'] or '',
      'dlq_id', id, 'attempts', f['attempts'] or '0',
      'first_failure_ms', f['first_failure_ms'] or '')
    redis.call('XDEL', KEYS[1], id)
    moved = moved + 1
  end
end
return moved
"""


@dataclass(frozen=True)
class DeadLetterPage:
    """One page of ``list_dead_letters``; pass ``next_cursor`` to read the next."""

    items: list[DeadLetter]
    next_cursor: str | None  # None: no more letters


def list_dead_letters(
    topic: str,
    group: str,
    *,
    types: str | Sequence[str] | None = None,
    error_type: str | None = None,
    text: str | None = None,
    limit: int = 50,
    cursor: str | None = None,
    reverse: bool = True,
    scan_limit: int = SCAN_LIMIT,
    client: redis.Redis | None = None,
) -> DeadLetterPage:
    """Return up to ``limit`` of a group's dead letters, newest first by default.

    ``types`` are fnmatch patterns on the event type ("order.*");
    ``error_type`` matches the qualified or bare class name ("Boom",
    "myapp.*"); ``text`` is a case-insensitive substring of the error
    message or the event's JSON. At most ``scan_limit`` letters are examined
    per call, so a filtered page may come back short: keep reading while
    ``next_cursor`` is not None. Pages never overlap or skip a letter.
    """
    if limit < 1 or scan_limit < 1:
        raise InvalidDeadLetterQuery(
            f"limit ({limit}) and scan_limit ({scan_limit}) must be at least 1."
        )
    key = dlq_key(topic, group)
    match = make_filter(types, error_type, text)
    low, high = "-", "+"
    if cursor is not None:
        after = cursor_id(cursor, reverse)
        low, high = ("-", f"({after}") if reverse else (f"({after}", "+")
    client = client or get_redis()
    items: list[DeadLetter] = []
    last: str | None = None
    more = False
    scanned = 0
    chunk = min(limit + 1, 1000)
    with redis_errors(f"list dead letters of '{group}' on '{topic}'"):
        for entry in entries(client, key, 0, low, high, reverse=reverse, chunk=chunk):
            if scanned >= scan_limit:
                more = True
                break
            letter = DeadLetter.from_entry(entry[3], entry[4])
            if match(letter):
                if len(items) == limit:
                    # The next page starts at this letter: exact, no gap.
                    more = True
                    break
                items.append(letter)
            last = entry[3]
            scanned += 1
    if not more or last is None:
        return DeadLetterPage(items, None)
    return DeadLetterPage(items, make_cursor(last, reverse))


def get_dead_letter(
    topic: str, group: str, dlq_id: str, *, client: redis.Redis | None = None
) -> DeadLetter:
    """Return one dead letter by its id, or raise ``DeadLetterNotFound``."""
    key = dlq_key(topic, group)
    sid = check_id(dlq_id)
    client = client or get_redis()
    with redis_errors(f"read dead letter {sid}"):
        rows: Any = client.xrange(key, sid, sid, count=1)
    if not rows:
        raise DeadLetterNotFound(
            f"No dead letter {sid} for group '{group}' on topic '{topic}': it was "
            "redriven or purged, or the id is wrong. List the letters with "
            f"'manage.py bus dlq list {topic} {group}'."
        )
    return DeadLetter.from_entry(rows[0][0], rows[0][1])


def count_dead_letters(
    topic: str | None = None,
    group: str | None = None,
    *,
    client: redis.Redis | None = None,
) -> dict[tuple[str, str], int]:
    """Return the letters held per ``(topic, group)`` that has a dead-letter stream.

    Streams are found with SCAN, not from the ConsumerGroup rows: letters of
    a group that was deleted, or created in Redis only, must still be seen
    (and purged), and SCAN needs no database. A stream emptied by redrive or
    purge still exists and counts 0.
    """
    client = client or get_redis()
    with redis_errors("count dead letters"):
        if topic is not None and group is not None:
            key = dlq_key(topic, group)
            keys = [key] if client.exists(key) else []
        else:
            # Validated names hold no glob characters, so the pattern is exact.
            pattern = dead_letter_key(
                "*" if topic is None else validate_topic_name(topic),
                "*" if group is None else validate_group_name(group),
            )
            found = client.scan_iter(match=pattern, count=1000, _type="STREAM")
            keys = sorted({as_text(name) for name in found})
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.xlen(key)
        lengths = pipe.execute() if keys else []
    counts: dict[tuple[str, str], int] = {}
    for key, length in zip(keys, lengths, strict=True):
        parsed = _KEY_RE.match(key)
        if parsed is not None:
            counts[(parsed["topic"], parsed["group"])] = int(length)
    return counts


def redrive(
    topic: str,
    group: str,
    *,
    ids: Sequence[str] | None = None,
    types: str | Sequence[str] | None = None,
    error_type: str | None = None,
    text: str | None = None,
    all: bool = False,
    dry_run: bool = False,
    client: redis.Redis | None = None,
) -> int:
    """Send dead letters back to ``group`` only; return how many were moved.

    Name the letters in exactly one way: ``ids``, filters (as in
    ``list_dead_letters``) or ``all=True``. They move oldest first, in
    chunks, each letter atomically from the dead-letter stream to the
    group's redrive stream; other groups never see them. Ids no longer
    present are skipped (not counted). ``dry_run`` only counts.
    """
    match = make_filter(types, error_type, text)
    chosen = selection("redrive", ids, match, all)
    key = dlq_key(topic, group)
    client = client or get_redis()
    moved = 0
    with redis_errors(f"redrive dead letters of '{group}' on '{topic}'"):
        if dry_run:
            return count_selected(client, key, chosen, match)
        script = client.register_script(_MOVE)
        target = redrive_key(topic, group)
        for chunk in chunks(client, key, chosen, match):
            moved += int(script(keys=[key, target], args=chunk, client=client))
    logger.info("Redrove %d dead letter(s) of group %r on %r.", moved, group, topic)
    return moved


def purge(
    topic: str,
    group: str,
    *,
    ids: Sequence[str] | None = None,
    types: str | Sequence[str] | None = None,
    error_type: str | None = None,
    text: str | None = None,
    all: bool = False,
    dry_run: bool = False,
    client: redis.Redis | None = None,
) -> int:
    """Delete dead letters for good; return how many were deleted.

    Name them as for ``redrive``. ``all=True`` deletes the letters present
    when it starts, never one dead-lettered meanwhile. ``dry_run`` only
    counts.
    """
    match = make_filter(types, error_type, text)
    chosen = selection("purge", ids, match, all)
    key = dlq_key(topic, group)
    client = client or get_redis()
    removed = 0
    with redis_errors(f"purge dead letters of '{group}' on '{topic}'"):
        if dry_run:
            return (
                int(client.xlen(key))
                if all
                else count_selected(client, key, chosen, match)
            )
        if all:
            top = client.xrevrange(key, "+", "-", count=1)
            if top:
                # MINID deletes ids below the bound: everything up to the
                # last letter seen, in one command.
                ms, seq = parse_id(as_text(top[0][0]))
                bound = f"{ms}-{seq + 1}" if seq < 2**64 - 1 else f"{ms + 1}-0"
                removed = int(client.xtrim(key, minid=bound, approximate=False))
        else:
            for chunk in chunks(client, key, chosen, match):
                removed += int(client.xdel(key, *chunk))
    logger.info("Purged %d dead letter(s) of group %r on %r.", removed, group, topic)
    return removed
