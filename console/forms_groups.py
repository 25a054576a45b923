"""Parse the reset and replay forms, and sign what a reset preview showed.

The preview's Confirm button carries a signed token: the target, the
partitions, the positions the preview started from and the positions it
showed. Apply refuses a request without a valid token (no reset without a
preview) and refuses a stale one (positions moved since: 409), and applies
exactly the previewed positions, not a fresh resolution of the target.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core import signing
from django.http import QueryDict

from eventbus import ResetTarget
from eventbus.streams import is_number

SALT = "console.group-reset"
TOKEN_MAX_AGE = 15 * 60  # seconds a preview may be confirmed for

MODES = [
    ("earliest", "Earliest (re-deliver everything kept)", ""),
    ("latest", "Latest (skip everything not yet delivered)", ""),
    ("time", "A time (first event at or after it is next)", "2024-05-01T12:00"),
    ("ago", "A duration ago (e.g. 15m, 2h, 1d)", "15m"),
    ("id", "An event id (it is next; one partition only)", "1700000000000-0"),
    ("shift", "Shift by N events (-N re-delivers, +N skips)", "-100"),
    ("group", "Another group's position", "shipping"),
]
MODE_NAMES = [name for name, _, _ in MODES]


class FormProblem(ValueError):
    """A form value that cannot be used; the message says what to enter."""


def parse_time_ms(value: str, field: str) -> int:
    """Return ms since the epoch for an ISO 8601 time or a number of ms."""
    value = value.strip()
    if is_number(value):
        return int(value)  # ResetTarget.at_time checks the range
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise FormProblem(
            f"{field}: {value!r} is not a time. Enter an ISO 8601 time such as "
            "2024-05-01T12:00 (server time zone) or 2024-05-01T12:00Z, or ms "
            "since the epoch."
        ) from None
    return ResetTarget.at_time(when).value  # type: ignore[return-value]


def target_from(mode: str, value: str) -> ResetTarget:
    """Return the reset target a (mode, value) pair from the form names."""
    value = (value or "").strip()
    if mode not in MODE_NAMES:
        raise FormProblem(f"Pick a reset mode: one of {', '.join(MODE_NAMES)}.")
    if mode == "earliest":
        return ResetTarget.earliest()
    if mode == "latest":
        return ResetTarget.latest()
    if not value:
        example = dict((n, e) for n, _, e in MODES)[mode]
        raise FormProblem(f"The mode '{mode}' needs a value, e.g. {example}.")
    if mode == "time":
        return ResetTarget.at_time(parse_time_ms(value, "Time"))
    if mode == "ago":
        return ResetTarget.ago(value)
    if mode == "id":
        return ResetTarget.to_id(value)
    if mode == "shift":
        try:
            by = int(value)
        except ValueError:
            raise FormProblem(
                f"Shift by a whole number such as -100 or 50, not {value!r}."
            ) from None
        return ResetTarget.shift(by)
    return ResetTarget.from_group(value)


def partitions_from(data: QueryDict, count: int) -> list[int] | None:
    """Return the ticked partitions, or None (all) when none is ticked."""
    chosen = []
    for raw in data.getlist("partitions"):
        if not is_number(raw.strip()) or int(raw) >= count:
            raise FormProblem(
                f"{raw!r} is not a partition of this topic (0..{count - 1})."
            )
        chosen.append(int(raw))
    return sorted(set(chosen)) or None


@dataclass(frozen=True)
class PreviewToken:
    """What a preview showed, as carried by its Confirm button."""

    topic: str
    group: str
    mode: str
    value: str
    partitions: list[int] | None
    current: dict[int, str | None]
    new: dict[int, str]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.current)

    def dumps(self) -> str:
        payload: dict[str, Any] = {
            "topic": self.topic,
            "group": self.group,
            "mode": self.mode,
            "value": self.value,
            "partitions": self.partitions,
            "current": {str(p): pos for p, pos in self.current.items()},
            "new": {str(p): pos for p, pos in self.new.items()},
        }
        return signing.dumps(payload, salt=SALT, compress=True)

    @classmethod
    def loads(cls, token: str) -> PreviewToken:
        """Return the token's preview; raise ``FormProblem`` if unusable."""
        if not token:
            raise FormProblem(
                "A reset is applied only from its dry-run preview. Fill in the "
                "reset form, press Preview, check the plan, then Confirm."
            )
        try:
            raw = signing.loads(token, salt=SALT, max_age=TOKEN_MAX_AGE)
        except signing.SignatureExpired:
            raise FormProblem(
                f"This preview is older than {TOKEN_MAX_AGE // 60} minutes. "
                "Preview the reset again and confirm the fresh plan."
            ) from None
        except signing.BadSignature:
            raise FormProblem(
                "The confirmation did not come from a preview of this console "
                "(its signature does not match). Preview the reset again."
            ) from None
        return cls(
            topic=raw["topic"],
            group=raw["group"],
            mode=raw["mode"],
            value=raw["value"],
            partitions=raw["partitions"],
            current={int(p): pos for p, pos in raw["current"].items()},
            new={int(p): pos for p, pos in raw["new"].items()},
        )


def fingerprint(positions: dict[int, str | None]) -> str:
    """Return a short digest of positions, to show and compare previews."""
    text = ";".join(f"{p}={positions[p]}" for p in sorted(positions))
    return hashlib.sha256(text.encode()).hexdigest()[:12]
