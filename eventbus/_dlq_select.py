"""Which dead letters an operation means: filters, ids, cursors, selections.

Shared by listing, redrive and purge in ``eventbus.deadletters``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

import redis

from eventbus._dlq_letter import DeadLetter
from eventbus._targets import validate_group_name
from eventbus.exceptions import InvalidCursor, InvalidDeadLetterQuery
from eventbus.keys import dead_letter_key
from eventbus.reading import entries
from eventbus.streams import parse_id, split_id
from eventbus.streams import text as as_text
from eventbus.topics import validate_topic_name

# Letters moved or deleted per round trip: small enough that one script call
# never blocks Redis for long.
CHUNK = 100
_CURSOR_RE = re.compile(r"^(?P<way>before|after):(?P<id>\d+-\d+)$")


@dataclass(frozen=True)
class LetterFilter:
    """Type patterns (fnmatch), error type, and text in the message or event."""

    types: tuple[str, ...] = ()
    error_type: str | None = None
    text: str | None = None

    @property
    def empty(self) -> bool:
        return not self.types and self.error_type is None and self.text is None

    def __call__(self, letter: DeadLetter) -> bool:
        if self.types:
            found = letter.event_type
            if found is None or not any(fnmatchcase(found, p) for p in self.types):
                return False
        if self.error_type is not None:
            # "Boom" matches "myapp.errors.Boom"; patterns match either form.
            short = letter.error_type.rpartition(".")[2]
            if not any(
                fnmatchcase(name, self.error_type)
                for name in (letter.error_type, short)
            ):
                return False
        if self.text is not None:
            needle = self.text.casefold()
            payload = letter.wire.decode("utf-8", "replace")
            return needle in letter.error_message.casefold() or (
                needle in payload.casefold()
            )
        return True


def make_filter(
    types: str | Sequence[str] | None, error_type: str | None, text: str | None
) -> LetterFilter:
    """Return the filter for the given criteria (empty when none is given)."""
    patterns = (types,) if isinstance(types, str) else tuple(types or ())
    return LetterFilter(
        tuple(sorted(set(patterns))), error_type or None, text if text else None
    )


def dlq_key(topic: str, group: str) -> str:
    """Return the group's dead-letter key after checking both names."""
    return dead_letter_key(validate_topic_name(topic), validate_group_name(group))


def check_id(dlq_id: str) -> str:
    """Return ``dlq_id`` if it is a stream id, else raise with advice."""
    value = str(dlq_id).strip()
    if split_id(value, seq_required=True) is None:
        raise InvalidDeadLetterQuery(
            f"{dlq_id!r} is not a dead-letter id. Use an id shown by "
            "'manage.py bus dlq list TOPIC GROUP', e.g. '1700000000000-0'."
        )
    return value


def make_cursor(last_id: str, reverse: bool) -> str:
    """Return the cursor that continues a listing after ``last_id``."""
    return f"{'before' if reverse else 'after'}:{last_id}"


def cursor_id(cursor: str, reverse: bool) -> str:
    """Return the id a cursor continues after, checking it fits the order."""
    found = _CURSOR_RE.match(cursor)
    if found is None or split_id(found["id"]) is None:
        raise InvalidCursor(
            f"The cursor {cursor!r} is not one list_dead_letters returned. Pass "
            "next_cursor back unchanged, or start again without a cursor."
        )
    if (found["way"] == "before") != reverse:
        order = "newest-first" if found["way"] == "before" else "oldest-first"
        raise InvalidCursor(
            f"The cursor {cursor!r} continues a {order} listing. Read with the "
            "same order it came from, or start again without a cursor."
        )
    return found["id"]


def selection(
    verb: str,
    ids: Sequence[str] | None,
    match: LetterFilter,
    everything: bool,
) -> list[str] | None:
    """Check that exactly one way of naming letters was used; return the ids."""
    ways = [
        name
        for name, used in (
            ("ids", ids is not None),
            ("filters", not match.empty),
            ("all=True", everything),
        )
        if used
    ]
    if len(ways) != 1:
        got = " and ".join(ways) + " were all given" if ways else "none was given"
        raise InvalidDeadLetterQuery(
            f"Name the dead letters to {verb} in exactly one way: ids, filters "
            f"(types, error_type, text) or all=True; {got}. On the command line: "
            "--id ID ..., --type/--error-type/--text, or --all."
        )
    if ids is None:
        return None
    if isinstance(ids, str):
        ids = [ids]
    return sorted({check_id(i) for i in ids}, key=parse_id)


def chunks(
    client: redis.Redis, key: str, ids: list[str] | None, match: LetterFilter
) -> Iterator[list[str]]:
    """Yield the selected letters' ids, oldest first, ``CHUNK`` at a time."""
    if ids is not None:
        for start in range(0, len(ids), CHUNK):
            yield ids[start : start + CHUNK]
        return
    top = client.xrevrange(key, "+", "-", count=1)
    if not top:
        return
    # Only letters present now: an event redriven and dead-lettered again
    # during this call must not be redriven again (an endless loop).
    snapshot = as_text(top[0][0])
    batch: list[str] = []
    for entry in entries(client, key, 0, "-", snapshot, chunk=CHUNK):
        if match.empty or match(DeadLetter.from_entry(entry[3], entry[4])):
            batch.append(entry[3])
            if len(batch) == CHUNK:
                yield batch
                batch = []
    if batch:
        yield batch


def count_selected(
    client: redis.Redis, key: str, ids: list[str] | None, match: LetterFilter
) -> int:
    """Return how many selected letters exist now (for dry runs)."""
    if ids is None:
        return sum(len(chunk) for chunk in chunks(client, key, None, match))
    pipe = client.pipeline(transaction=False)
    for sid in ids:
        pipe.xrange(key, sid, sid, count=1)
    return sum(1 for rows in pipe.execute() if rows) if ids else 0
