"""Where a position goes: start policies, reset targets, and their resolution.

A position is the id of the last event a group considers delivered, so a
target names the event *before* the first one to deliver: "time T" resolves
to the last entry before ``T-0``, "id X" to the entry before X, "earliest" to
0-0 (everything present is delivered) and "latest" to the last generated id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from django.utils import timezone

from eventbus._positions import ORIGIN, PAGE, entry_ids, normalize_id
from eventbus.exceptions import (
    InvalidGroupName,
    InvalidReset,
    PositionNotFound,
    UnknownGroup,
)
from eventbus.keys import stream_key
from eventbus.models import GROUP_NAME_RE
from eventbus.streams import (
    MAX_ID_PART,
    GroupState,
    StreamState,
    is_number,
    stream_state,
)
from eventbus.topics import TopicInfo

Start = str | int | datetime
_DURATION_PART = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
_UNIT_MS["w"] = 7 * _UNIT_MS["d"]
# Kafka's --by-duration takes ISO 8601 (PnDTnHnMnS); accept that too.
_ISO_DURATION = re.compile(
    r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)


def validate_group_name(name: str) -> str:
    """Return ``name`` if it is a valid group name, else raise ``InvalidGroupName``."""
    if not isinstance(name, str) or not GROUP_NAME_RE.match(name) or len(name) > 100:
        raise InvalidGroupName(
            f"{name!r} is not a valid group name. Use 1-100 lower-case letters, "
            "digits, '.', '_' or '-', starting with a letter or digit "
            "(e.g. 'inventory')."
        )
    return name


def timestamp_ms(value: int | datetime) -> int:
    """Return ms since the epoch; naive datetimes are in Django's TIME_ZONE."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = timezone.make_aware(value)
        return int(value.timestamp() * 1000)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 0 <= value <= MAX_ID_PART
    ):
        raise InvalidReset(
            f"{value!r} is not a timestamp. Pass a datetime or milliseconds since "
            f"the epoch (an int from 0 to {MAX_ID_PART}), e.g. 1700000000000."
        )
    return value


def start_value(start: Start) -> str:
    """Return ``start`` as stored on the row: earliest, latest or ms since epoch."""
    if isinstance(start, str):
        word = start.strip().lower()
        if word in ("earliest", "latest"):
            return word
        if is_number(word):
            return str(timestamp_ms(int(word)))
        try:
            start = datetime.fromisoformat(start.strip())
        except ValueError:
            raise InvalidReset(
                f"{start!r} is not a start position. Use 'earliest', 'latest', "
                "an ISO 8601 time (e.g. 2024-05-01T12:00:00Z) or ms since the epoch."
            ) from None
    return str(timestamp_ms(start))


def start_position(client: redis.Redis, topic: str, partition: int, start: str) -> str:
    """Return the position a ``start_value`` means on one partition now."""
    if start == "earliest":
        return ORIGIN
    if start == "latest":
        state = stream_state(client, topic, partition)
        return state.last_id if state.exists and state.last_id else ORIGIN
    # The first event at or after the time is the first one delivered.
    return position_before(client, topic, partition, f"{int(start)}-0")


def entry_exists(
    client: redis.Redis, topic: str, partition: int, stream_id: str
) -> bool:
    """Return True when the partition holds an entry with exactly this id."""
    key = stream_key(topic, partition)
    return bool(entry_ids(client.xrange(key, min=stream_id, max=stream_id, count=1)))


def position_before(client: redis.Redis, topic: str, partition: int, bound: str) -> str:
    """Return the id of the last entry before ``bound`` (exclusive), else 0-0.

    A group at that position is next delivered the first entry at or after
    ``bound``: ``T-0`` for a time, or an event id.
    """
    if bound == ORIGIN:  # nothing sorts before it ("(0-0" is an error)
        return ORIGIN
    key = stream_key(topic, partition)
    rows = entry_ids(client.xrevrange(key, max=f"({bound}", min="-", count=1))
    return rows[0] if rows else ORIGIN


def shifted(
    client: redis.Redis, topic: str, partition: int, position: str, by: int, latest: str
) -> str:
    """Return the position ``by`` entries later (negative: earlier), clamped.

    Forward, the new position is the ``by``-th entry after ``position`` (or
    ``latest`` when there are fewer); backward, it is the ``(-by + 1)``-th
    entry at or before it (or 0-0), so ``-by`` more entries are re-delivered.
    """
    if by == 0:
        return position
    key = stream_key(topic, partition)
    need = by if by > 0 else -by + 1
    start = f"({position}" if by > 0 else position
    while True:
        size = min(PAGE, need)
        if by > 0:
            rows = entry_ids(client.xrange(key, min=start, max="+", count=size))
        else:
            rows = entry_ids(client.xrevrange(key, max=start, min="-", count=size))
        if len(rows) == need:
            return rows[-1]
        if len(rows) < size:
            return latest if by > 0 else ORIGIN
        need -= len(rows)
        start = f"({rows[-1]}"


def parse_duration(value: str | timedelta) -> int:
    """Return a duration such as ``15m``, ``1h30m`` or ``PT15M`` in ms."""
    if isinstance(value, timedelta):
        ms = int(value.total_seconds() * 1000)
    else:
        compact = value.strip().replace(" ", "")
        iso = _ISO_DURATION.fullmatch(compact.upper())
        parts = _DURATION_PART.findall(compact.lower())
        if iso:
            weeks, days, hours, minutes, seconds = iso.groups()
            try:
                span = timedelta(
                    weeks=int(weeks or 0),
                    days=int(days or 0),
                    hours=int(hours or 0),
                    minutes=int(minutes or 0),
                    seconds=float(seconds or 0),
                )
            except OverflowError:
                raise InvalidReset(
                    f"The duration {value!r} is longer than Python can count "
                    "(about 2.7 million years); the epoch is far closer."
                ) from None
            ms = int(span.total_seconds() * 1000)
        elif compact and "".join(n + u for n, u in parts) == compact.lower():
            ms = sum(int(n) * _UNIT_MS[u] for n, u in parts)
        else:
            raise InvalidReset(
                f"{value!r} is not a duration. Use a number and a unit "
                "(ms, s, m, h, d, w), e.g. 15m, 2h, 1d or 1h30m, or ISO 8601 "
                "such as PT15M."
            )
    if ms <= 0:
        raise InvalidReset(f"The duration {value!r} must be positive, e.g. 15m.")
    return ms


def format_duration(ms: int) -> str:
    """Return ms in the units ``parse_duration`` reads, e.g. ``1h30m``."""
    parts = []
    for unit in ("w", "d", "h", "m", "s", "ms"):
        count, ms = divmod(ms, _UNIT_MS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts) or "0ms"


@dataclass(frozen=True)
class ResetTarget:
    """Where to move a group; build it with the class methods."""

    kind: str  # earliest | latest | time | ago | id | shift | group
    value: int | str | None = None

    @classmethod
    def earliest(cls) -> ResetTarget:
        return cls("earliest")

    @classmethod
    def latest(cls) -> ResetTarget:
        return cls("latest")

    @classmethod
    def at_time(cls, when: int | datetime) -> ResetTarget:
        """The first event at or after ``when`` (ms or datetime) is next."""
        return cls("time", timestamp_ms(when))

    @classmethod
    def ago(cls, duration: str | timedelta) -> ResetTarget:
        """The first event at or after now (Redis's clock) minus ``duration``."""
        return cls("ago", parse_duration(duration))

    @classmethod
    def to_id(cls, stream_id: str) -> ResetTarget:
        """The event ``stream_id`` is next (one partition only)."""
        try:
            return cls("id", normalize_id(stream_id))
        except ValueError:
            raise InvalidReset(
                f"{stream_id!r} is not a stream id. Use <ms>-<seq> (each part "
                "at most 2**64-1), e.g. 1700000000000-0, as shown by manage.py "
                "bus tail."
            ) from None

    @classmethod
    def shift(cls, by: int) -> ResetTarget:
        """Move ``by`` events: negative re-delivers that many, positive skips."""
        if isinstance(by, bool) or not isinstance(by, int) or by == 0:
            raise InvalidReset(f"Shift by a non-zero whole number, not {by!r}.")
        return cls("shift", by)

    @classmethod
    def from_group(cls, group: str) -> ResetTarget:
        """Copy another group's position on each partition."""
        return cls("group", validate_group_name(group))

    def describe(self) -> str:
        """Return the target for people, e.g. ``to 15m ago``."""
        number = int(self.value or 0) if self.kind in ("time", "ago") else 0
        labels = {
            "earliest": "to earliest",
            "latest": "to latest",
            "time": f"to time {_when(number)}",
            "ago": f"to {format_duration(number)} ago",
            "id": f"to id {self.value}",
            "shift": f"shift by {self.value}",
            "group": f"to the position of group '{self.value}'",
        }
        return labels[self.kind]


def _when(ms: int) -> str:
    """Return ms since the epoch as ISO 8601 UTC (as ms past year 9999)."""
    try:
        when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return f"{ms} ms since the epoch"
    return when.isoformat().replace("+00:00", "Z")


def resolve(
    client: redis.Redis,
    info: TopicInfo,
    p: int,
    target: ResetTarget,
    current: str | None,
    stream: StreamState,
    source: GroupState | None,
    now_ms: int,
) -> str:
    """Return the new position of one partition for ``target``."""
    latest = stream.last_id if stream.exists and stream.last_id else ORIGIN
    kind, value = target.kind, target.value
    if kind == "earliest":
        return ORIGIN
    if kind == "latest":
        return latest
    if kind in ("time", "ago"):
        number = int(value or 0)
        ms = number if kind == "time" else max(now_ms - number, 0)
        return position_before(client, info.name, p, f"{ms}-0")
    if kind == "id":
        if not entry_exists(client, info.name, p, str(value)):
            raise PositionNotFound(_missing_id(info.name, p, str(value), stream))
        return position_before(client, info.name, p, str(value))
    if kind == "shift":
        if current is None:
            raise InvalidReset(
                f"Group has no position on partition {p} of '{info.name}' to "
                "shift from. Reset it to earliest, latest or a time instead."
            )
        return shifted(client, info.name, p, current, int(value or 0), latest)
    if kind == "group":
        if source is None:
            raise UnknownGroup(
                f"Group '{value}' does not exist on partition {p} of "
                f"'{info.name}', so there is no position to copy. Check the "
                f"name with manage.py bus groups --topic {info.name}."
            )
        return source.last_delivered_id
    raise InvalidReset(f"Unknown reset kind {kind!r}; build targets with ResetTarget.")


def _missing_id(topic: str, p: int, stream_id: str, stream: StreamState) -> str:
    held = (
        f"it holds {stream.length} event(s) from {stream.first_id} to "
        f"the last id {stream.last_id}"
        if stream.length
        else "it is empty"
    )
    return (
        f"Partition {p} of '{topic}' has no event with id {stream_id} ({held}). "
        "Pick an id that exists (manage.py bus tail shows them) or reset by "
        "time with --to-datetime."
    )


def timestamp_target(value: str) -> ResetTarget:
    """Return a time target from an ISO 8601 string (CLI helper)."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise InvalidReset(
            f"{value!r} is not an ISO 8601 time. Use e.g. 2024-05-01T12:00:00Z "
            "(a time without offset is in TIME_ZONE)."
        ) from None
    return ResetTarget.at_time(when)
