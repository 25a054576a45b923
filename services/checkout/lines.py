"""Parse and check the lines of an order request (pure: reads and writes nothing)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from services.checkout.exceptions import OrderInvalid

# A sanity bound, far above any basket: a typo like 10000000 should be refused,
# not reserved.
MAX_QTY = 10_000

LineInput = tuple[str, int] | Mapping[str, Any]


Problem = tuple[int, str]  # (line number from 1, what is wrong with it)


def parse_lines(
    lines: Sequence[LineInput],
) -> tuple[list[tuple[str, int, int]], list[Problem]]:
    """Return ``(sku, qty, first line number)`` per SKU (merged) and the problems.

    Every line is checked, so that the caller can refuse the order once,
    naming all the bad lines. Input that is not a list of lines at all, or an
    empty one, raises ``OrderInvalid`` at once.
    """
    if isinstance(lines, str | bytes | Mapping) or not isinstance(lines, Sequence):
        raise OrderInvalid(
            f"The lines of an order must be a list of (sku, qty) pairs or of "
            f"{{'sku': ..., 'qty': ...}} objects, not {type(lines).__name__}."
        )
    if not lines:
        raise OrderInvalid(
            "An order needs at least one line: add a (sku, qty) line and place "
            "it again."
        )
    problems: list[Problem] = []
    merged: dict[str, tuple[int, int]] = {}
    for number, line in enumerate(lines, start=1):
        sku, qty, problem = _parse_line(line)
        if problem:
            where = f"line {number}" + (f" (sku {sku!r})" if sku else "")
            problems.append((number, f"{where}: {problem}"))
            continue
        assert sku is not None and qty is not None
        total, first = merged.get(sku, (0, number))
        merged[sku] = (total + qty, first)
    for sku, (qty, first) in merged.items():
        if qty > MAX_QTY:
            problems.append(
                (
                    first,
                    f"line {first} (sku {sku!r}): {qty} in all is more than the "
                    f"{MAX_QTY} one order may ask for",
                )
            )
    return [(sku, qty, first) for sku, (qty, first) in merged.items()], problems


def invalid(problems: list[Problem]) -> OrderInvalid:
    """Return the ``OrderInvalid`` that lists ``problems`` in line order."""
    return OrderInvalid(
        "The order was not placed: "
        + "; ".join(text for _, text in sorted(problems))
        + ". Fix or remove these lines and place the order again."
    )


def _parse_line(line: Any) -> tuple[str | None, int | None, str]:
    if isinstance(line, Mapping):
        extra = sorted(set(map(str, line)) - {"sku", "qty"})
        sku, qty = line.get("sku"), line.get("qty")
        if extra:
            return (
                _text(sku),
                None,
                f"unexpected field(s) {', '.join(map(repr, extra))}; a line has "
                "only 'sku' and 'qty' (prices come from the catalogue)",
            )
    elif isinstance(line, Sequence) and not isinstance(line, str | bytes):
        if len(line) != 2:
            return None, None, f"expected a (sku, qty) pair, got {line!r}"
        sku, qty = line
    else:
        return None, None, f"expected a (sku, qty) pair or an object, got {line!r}"
    if not isinstance(sku, str) or not sku.strip():
        return None, None, f"the sku must be a non-empty string, got {sku!r}"
    # bool is an int subclass; True is not a quantity.
    if not isinstance(qty, int) or isinstance(qty, bool) or qty < 1:
        return (
            sku,
            None,
            f"qty must be a whole number of at least 1, got {qty!r} "
            f"({type(qty).__name__})",
        )
    return sku, qty, ""


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
