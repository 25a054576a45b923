"""The message browser: filters, seeking, cursor paging, and JSON/CSV exports."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from console import topics_browse
from eventbus import Published
from tests.console.topics_helpers import (
    CANCELLED,
    PLACED,
    TOPIC,
    declare_shop,
    fill_shop,
    log_order,
)

URL = reverse("console:topic", args=[TOPIC])


@pytest.fixture
def shop(bus, make_topic) -> list[Published]:
    """The shop topic with 30 events."""
    declare_shop(make_topic)
    return fill_shop(30)


@pytest.fixture
def viewer(client_as) -> Client:
    return client_as("viewer")


def browse(client: Client, **params: Any) -> dict[str, Any]:
    """Return the detail page's context for a browser query; assert it is a 200."""
    response = client.get(URL, params)
    assert response.status_code == 200, response.content.decode()[-2000:]
    return response.context


def ids(context: dict[str, Any]) -> list[str]:
    return [row["event"].id for row in context["rows"]]


def cursor_of(context: dict[str, Any]) -> str | None:
    href = context["next_href"]
    if href is None:
        return None
    from urllib.parse import parse_qs, urlsplit

    return parse_qs(urlsplit(href).query)["cursor"][0]


def test_thirty_events_come_in_three_pages_of_ten_newest_first(shop, viewer) -> None:
    """Cursor paging visits every event once, newest first, then stops."""
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        params = {"size": 10, **({"cursor": cursor} if cursor else {})}
        context = browse(viewer, **params)
        assert len(context["rows"]) == 10
        seen.extend(ids(context))
        cursor = cursor_of(context)
    assert cursor is None
    assert seen == log_order(shop)[::-1]


def test_oldest_first_paging_keeps_the_filters(shop, viewer) -> None:
    """The next-page link carries the filters: page 2 continues the same query."""
    first = browse(viewer, size=10, order="oldest", type=PLACED)
    assert "type=shop.order_placed" in first["next_href"]
    second = browse(
        viewer, size=10, order="oldest", type=PLACED, cursor=cursor_of(first)
    )
    placed = log_order([p for i, p in enumerate(shop) if i % 3 != 0])
    assert ids(first) + ids(second) == placed
    assert cursor_of(second) is None


def test_filter_by_type_pattern(shop, viewer) -> None:
    """Type takes fnmatch patterns and comma-separated lists."""
    cancelled = browse(viewer, type=CANCELLED, size=50)
    assert {row["event"].type for row in cancelled["rows"]} == {CANCELLED}
    assert len(cancelled["rows"]) == 10
    both = browse(viewer, type=f"{CANCELLED}, shop.order_p*", size=50)
    assert len(both["rows"]) == 30


def test_filter_by_key_subject_and_text(shop, viewer) -> None:
    """Key, subject and case-insensitive payload text each narrow the page."""
    by_key = browse(viewer, key="cust-2", size=50)
    assert ids(by_key) == [
        p.event_id for i, p in reversed(list(enumerate(shop))) if i % 5 == 2
    ]
    by_subject = browse(viewer, subject="order-13")
    assert ids(by_subject) == [shop[13].event_id]
    by_text = browse(viewer, q="gift wrap")
    assert ids(by_text) == [shop[7].event_id]
    nothing = browse(viewer, q="gift wrap", key="cust-3")
    assert ids(nothing) == []


def test_seek_by_stream_id_and_partition(shop, viewer) -> None:
    """From a stream id on one partition, reading runs forward from that id."""
    partition = shop[10].position.partition
    own = [p for p in shop if p.position.partition == partition]
    start = own[1].position.stream_id
    context = browse(viewer, partition=partition, start=start, size=50)
    assert ids(context) == [p.event_id for p in own[1:]]
    assert all(row["partition"] == partition for row in context["rows"])


def test_seek_by_time_and_by_event_id(bus, make_topic, viewer) -> None:
    """From a UTC time (or a UUIDv7 event id) shows the events from then on."""
    declare_shop(make_topic)
    early = fill_shop(5, pause=0.003)
    later = fill_shop(5, start=5, pause=0.003)
    ms = later[0].position.ms
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(
        timespec="milliseconds"
    )
    by_time = browse(viewer, start=moment, size=50)
    assert ids(by_time) == log_order(later)
    until = browse(viewer, end=moment, size=50)
    assert ids(until) == log_order(early)[::-1]
    # A UUIDv7 event id carries the ms it was made at: a usable seek point.
    by_event_id = browse(viewer, start=later[0].event_id, size=50)
    assert ids(by_event_id) == log_order(later)


def test_bad_seek_values_are_explained(shop, client_as) -> None:
    """An unreadable start, a missing partition or a foreign cursor is a 400."""
    viewer = client_as("viewer")
    response = viewer.get(URL, {"start": "yesterday", "partition": "9", "size": "7"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "is not a time or position" in html
    assert "Partition &#x27;9&#x27; does not exist" in html
    assert "Page size" in html
    first = browse(viewer, size=10)
    response = viewer.get(
        URL, {"size": 10, "type": CANCELLED, "cursor": cursor_of(first)}
    )
    assert response.status_code == 400
    assert "cursor belongs to a different query" in response.content.decode()


def test_export_json_holds_the_selection_with_positions(shop, viewer) -> None:
    """The JSON export holds every event of the filter, not just one page."""
    url = reverse("console:topic-export", args=[TOPIC, "json"])
    response = viewer.get(url, {"type": PLACED, "order": "oldest", "size": 10})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert 'filename="shop.json"' in response["Content-Disposition"]
    document = json.loads(response.content)
    placed = [p for i, p in enumerate(shop) if i % 3 != 0]
    placed.sort(key=lambda p: log_order(shop).index(p.event_id))
    assert document["count"] == 20 and document["truncated"] is False
    assert document["filters"]["types"] == [PLACED]
    assert [e["event"]["id"] for e in document["events"]] == [
        p.event_id for p in placed
    ]
    first = document["events"][0]
    assert first["position"] == placed[0].position.as_dict()
    n = shop.index(placed[0])
    assert first["event"]["data"]["order_id"] == f"o{n}"
    assert first["event"]["data"]["total"] == n * 100
    assert (
        first["event"]["type"] == PLACED and first["event"]["subject"] == f"order-{n}"
    )


def test_export_csv_has_one_row_per_event(shop, viewer) -> None:
    """The CSV export has a header and one row per event with its data as JSON."""
    url = reverse("console:topic-export", args=[TOPIC, "csv"])
    response = viewer.get(url, {"key": "cust-2", "order": "oldest"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    expected = [p for i, p in enumerate(shop) if i % 5 == 2]
    assert [r["id"] for r in rows] == [p.event_id for p in expected]
    assert rows[0]["stream_id"] == expected[0].position.stream_id
    assert rows[0]["partitionkey"] == "cust-2"
    assert json.loads(rows[0]["data"]) == {
        "order_id": "o2",
        "note": "plain",
        "total": 200,
    }


def test_export_is_capped_and_says_so(shop, viewer, monkeypatch) -> None:
    """An export stops at the limit and marks itself truncated."""
    monkeypatch.setattr(topics_browse, "EXPORT_LIMIT", 7)
    url = reverse("console:topic-export", args=[TOPIC, "json"])
    response = viewer.get(url)
    document = json.loads(response.content)
    assert document["count"] == 7 and document["truncated"] is True
    assert document["limit"] == 7
    assert "first 7 events" in response["X-Export-Truncated"]
    csv_response = viewer.get(reverse("console:topic-export", args=[TOPIC, "csv"]))
    assert csv_response["X-Export-Count"] == "7"
    assert "X-Export-Truncated" in csv_response


def test_export_of_another_format_is_404(shop, viewer) -> None:
    """Only .json and .csv exports exist."""
    url = reverse("console:topic-export", args=[TOPIC, "xml"])
    assert viewer.get(url).status_code == 404
