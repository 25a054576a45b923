"""Topics list, topic detail and event view with real Redis data; access; Redis down."""

from __future__ import annotations

import pytest
from django.urls import reverse

from console import health
from console.topics_stats import ms_to_text
from tests.conftest import free_port
from tests.console.topics_helpers import PLACED, TOPIC, declare_shop, fill_shop


@pytest.fixture
def shop(bus, make_topic):
    """The shop topic with 12 events published."""
    declare_shop(make_topic)
    return fill_shop(12)


def test_list_shows_partitions_length_retention_rate_and_times(shop, client_as) -> None:
    """The list shows a topic's partitions, event count, retention, rate and times."""
    response = client_as("viewer").get(reverse("console:topics"))
    assert response.status_code == 200
    row = next(r for r in response.context["rows"] if r["info"].name == TOPIC)
    summary = row["summary"]
    assert summary.length == 12
    assert row["retention"] == "max age 1d"
    # All 12 were published within the last minute: 12 / 60 s.
    assert summary.rate.total == pytest.approx(0.2)
    assert summary.oldest == ms_to_text(min(p.position.ms for p in shop))
    assert summary.newest == ms_to_text(max(p.position.ms for p in shop))
    html = response.content.decode()
    assert f'href="/topics/{TOPIC}/"' in html
    assert "max age 1d" in html and "checkout" in html


def test_empty_topic_is_listed_with_zero_events(bus, make_topic, client_as) -> None:
    """A topic nobody published to shows 0 events and no event times."""
    make_topic("quiet", partitions=2)
    response = client_as("viewer").get(reverse("console:topics"))
    row = next(r for r in response.context["rows"] if r["info"].name == "quiet")
    assert row["summary"].length == 0
    assert row["summary"].oldest == "—"
    assert row["retention"] == "forever"


def test_detail_has_a_row_per_partition_and_the_live_tail_slot(shop, client_as) -> None:
    """The detail page shows each partition's length and the tail section."""
    response = client_as("viewer").get(reverse("console:topic", args=[TOPIC]))
    assert response.status_code == 200
    rows = response.context["summary"].partitions
    assert [r.partition for r in rows] == [0, 1, 2, 3]
    by_partition: dict[int, int] = {}
    for published in shop:
        p = published.position.partition
        by_partition[p] = by_partition.get(p, 0) + 1
    assert {r.partition: r.state.length for r in rows} == {
        p: by_partition.get(p, 0) for p in range(4)
    }
    html = response.content.decode()
    assert '<section id="live-tail" data-topic="shop" data-partitions="4">' in html
    # Newest first by default: the first row is the last event published.
    assert response.context["rows"][0]["event"].id == shop[-1].event_id


def test_unknown_topic_is_404(bus, client_as) -> None:
    """A topic that does not exist is a 404, not a 500."""
    response = client_as("viewer").get(reverse("console:topic", args=["nope"]))
    assert response.status_code == 404


def test_event_view_shows_position_envelope_and_pretty_data(shop, client_as) -> None:
    """The event view shows position, envelope fields and indented, escaped data."""
    from eventbus import publish

    hostile = publish(
        TOPIC,
        PLACED,
        {"order_id": "<script>alert(1)</script>", "total": 5},
        key="k-1",
        subject="order-x",
    )
    pos = hostile.position
    url = reverse("console:event", args=[TOPIC, pos.partition, pos.stream_id])
    response = client_as("viewer").get(url)
    assert response.status_code == 200
    html = response.content.decode()
    pretty = (
        "&quot;order_id&quot;: &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;,"
        "\n  &quot;total&quot;: 5"
    )
    assert pretty in html
    assert "<script>alert(1)" not in html
    envelope = dict(response.context["envelope"])
    assert envelope["id"] == hostile.event_id
    assert envelope["type"] == PLACED
    assert envelope["partitionkey"] == "k-1"
    assert envelope["subject"] == "order-x"
    assert pos.stream_id in html and f'<td class="mono">{pos.partition}</td>' in html


def test_event_view_offers_reproduce_to_operators_only(shop, client_as) -> None:
    """Operators see a Reproduce button on an event; viewers don't."""
    pos = shop[0].position
    url = reverse("console:event", args=[TOPIC, pos.partition, pos.stream_id])
    assert 'id="reproduce"' in client_as("operator").get(url).content.decode()
    assert 'id="reproduce"' not in client_as("viewer").get(url).content.decode()


def test_missing_or_malformed_event_is_404(shop, client_as) -> None:
    """An id that is not in the partition, or is not an id, is a 404."""
    viewer = client_as("viewer")
    gone = reverse("console:event", args=[TOPIC, 0, "1-0"])
    assert viewer.get(gone).status_code == 404
    bad = reverse("console:event", args=[TOPIC, 0, "abc"])
    assert viewer.get(bad).status_code == 404
    nowhere = reverse("console:event", args=[TOPIC, 9, shop[0].position.stream_id])
    assert viewer.get(nowhere).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        reverse("console:topics"),
        reverse("console:topic", args=[TOPIC]),
        reverse("console:topic-export", args=[TOPIC, "json"]),
        reverse("console:topic-publish", args=[TOPIC]),
    ],
)
def test_anonymous_visitors_are_sent_to_login(shop, client, url) -> None:
    """Every Topics page needs a login."""
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_user_without_a_role_is_refused(shop, client_as) -> None:
    """A logged-in user with no console role gets the 403 page."""
    response = client_as("nobody").get(reverse("console:topics"))
    assert response.status_code == 403
    assert "viewer" in response.content.decode()


@pytest.fixture
def redis_down(shop, bus_on):
    """Point the bus (and the health banner) at a port where nothing listens."""
    bus_on(f"redis://127.0.0.1:{free_port()}/0")
    health._last = (0.0, None)  # forget a cached "Redis is fine"
    yield
    health._last = (0.0, None)


def test_list_renders_with_a_banner_when_redis_is_down(redis_down, client_as) -> None:
    """With Redis down the list still shows topics from the database, and why."""
    response = client_as("viewer").get(reverse("console:topics"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="banner banner-error"' in html
    assert "Redis is not answering" in html
    assert f'href="/topics/{TOPIC}/"' in html


def test_detail_renders_with_a_banner_when_redis_is_down(redis_down, client_as) -> None:
    """With Redis down the detail page says so instead of failing."""
    response = client_as("viewer").get(reverse("console:topic", args=[TOPIC]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Partition figures are unavailable" in html
    assert "Redis is not answering" in html


def test_event_view_and_export_are_503_when_redis_is_down(
    redis_down, client_as
) -> None:
    """Pages that are nothing but bus reads answer 503 with the bus-down page."""
    viewer = client_as("viewer")
    event = viewer.get(reverse("console:event", args=[TOPIC, 0, "1-0"]))
    assert event.status_code == 503
    assert "not answering" in event.content.decode()
    export = viewer.get(reverse("console:topic-export", args=[TOPIC, "csv"]))
    assert export.status_code == 503
