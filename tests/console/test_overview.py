"""The overview page: a skeleton rendered on the server, filled live by the socket."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.django_db


def test_anonymous_visitor_is_sent_to_login(client) -> None:
    """The overview needs a login."""
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_user_without_role_is_refused(client_as) -> None:
    """A user with no console role gets the 403 page naming the role."""
    response = client_as("nobody").get("/")
    assert response.status_code == 403
    assert b"viewer" in response.content


def test_viewer_sees_the_skeleton_and_scripts(client_as) -> None:
    """Cards, chart box and tables are rendered; charts.js and overview.js load."""
    response = client_as("viewer").get("/")
    assert response.status_code == 200
    html = response.content.decode()
    for marker in (
        'id="health-redis"',
        'id="health-db"',
        'id="health-workers"',
        'id="rate-charts"',
        'id="groups-table"',
        'id="dlq-table"',
        "console/charts.js",
        "console/overview.js",
    ):
        assert marker in html, marker
    assert "None firing." in html


def test_firing_alerts_are_listed(client_as) -> None:
    """An active alert shows with its rule's name on the overview."""
    from console.models import Alert, AlertRule

    rule = AlertRule.objects.create(
        name="inventory-behind",
        topic="orders",
        group="inventory",
        metric="lag",
        threshold=10,
    )
    Alert.objects.create(rule=rule, started_at=datetime.now(UTC), value_at_fire=50)
    html = client_as("viewer").get("/").content.decode()
    assert "inventory-behind" in html
    assert "None firing." not in html
