"""Stream ids and times from users: refused clearly before Redis sees them."""

from __future__ import annotations

import pytest

from eventbus._bounds import until_value
from eventbus._dlq_select import check_id
from eventbus._targets import parse_duration, position_before, start_value
from eventbus.exceptions import InvalidDeadLetterQuery, InvalidRange, InvalidReset
from eventbus.keys import stream_key
from eventbus.reading import to_stream_id
from eventbus.resets import ResetTarget
from eventbus.streams import MAX_ID_PART, is_number, split_id

TOO_BIG = str(MAX_ID_PART + 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1700000000000-5", (1700000000000, 5)),
        ("1700000000000", (1700000000000, 0)),
        (f"{MAX_ID_PART}-{MAX_ID_PART}", (MAX_ID_PART, MAX_ID_PART)),
        (f"{TOO_BIG}-0", None),
        (f"1-{TOO_BIG}", None),
        ("99999999999999999999999-0", None),
        ("\u00b2-0", None),  # '²'.isdigit() is True, int('²') fails
        ("\u0663-0", None),  # an Arabic-Indic 3: int() takes it, Redis does not
        ("1-0\n", None),
        ("-1-0", None),
        ("1-", None),
        ("", None),
        (17, None),
    ],
)
def test_split_id_accepts_only_what_redis_accepts(value, expected):
    assert split_id(value) == expected


def test_a_sequence_can_be_required():
    assert split_id("17", seq_required=True) is None
    assert split_id("17-0", seq_required=True) == (17, 0)


def test_is_number_means_ascii_digits():
    assert is_number("0123") and not is_number("\u00b2") and not is_number("1.5")
    assert not is_number("") and not is_number(12)


@pytest.mark.parametrize(
    "bound", [f"{TOO_BIG}-0", TOO_BIG, f"1-{TOO_BIG}", MAX_ID_PART + 1, -1, "\u00b2"]
)
def test_read_bounds_past_64_bits_are_invalid_ranges(bound):
    with pytest.raises(InvalidRange, match="2\\*\\*64-1"):
        to_stream_id(bound, "start")


def test_reset_targets_past_64_bits_are_refused():
    with pytest.raises(InvalidReset, match="2\\*\\*64-1"):
        ResetTarget.to_id(f"{TOO_BIG}-0")
    with pytest.raises(InvalidReset, match="from 0 to"):
        ResetTarget.at_time(MAX_ID_PART + 1)
    with pytest.raises(InvalidReset, match="start position"):
        start_value("\u00b2")
    with pytest.raises(InvalidReset, match="from 0 to"):
        start_value(TOO_BIG)
    with pytest.raises(InvalidReset, match="from 0 to"):
        until_value(TOO_BIG)
    with pytest.raises(InvalidReset, match="not an end time"):
        until_value("\u00b2")
    with pytest.raises(InvalidReset, match="longer than Python can count"):
        parse_duration("P99999999999W")


def test_far_targets_still_describe_themselves():
    """A time past year 9999 or a duration longer than the epoch is not a crash."""
    assert ResetTarget.at_time(MAX_ID_PART).describe().endswith("ms since the epoch")
    assert ResetTarget.ago("300000000d").describe() == "to 42857142w6d ago"


def test_the_position_before_the_origin_is_the_origin(bus):
    """Time 0 (or a duration longer than the epoch) starts at the beginning."""
    bus.xadd(stream_key("orders", 0), {"x": "1"}, id="5-0")
    assert position_before(bus, "orders", 0, "0-0") == "0-0"
    assert position_before(bus, "orders", 0, "6-0") == "5-0"


def test_dead_letter_ids_past_64_bits_are_refused():
    with pytest.raises(InvalidDeadLetterQuery, match="not a dead-letter id"):
        check_id(f"{TOO_BIG}-0")
    assert check_id("17-0") == "17-0"
