"""Console test fixtures: one user per role, and test clients logged in as them."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from console.snapshot import DEAD_LETTER_STREAMS

ROLES = ("viewer", "operator", "admin")


@pytest.fixture
def console_users(db) -> dict[str, object]:
    """One user per console role (viewer, operator, admin), plus one with no role."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    model = get_user_model()
    users: dict[str, object] = {}
    for role in ROLES:
        user = model.objects.create_user(username=role, password=f"{role}-pw-1")
        # get_or_create: a transactional test's flush removes migration data.
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
        users[role] = user
    users["nobody"] = model.objects.create_user(username="nobody", password="x-pw-1")
    return users


@pytest.fixture
def client_as(console_users) -> Callable[[str], Client]:
    """Return a test client logged in as the user of a role ("viewer", ...)."""

    def make(role: str) -> Client:
        client = Client()
        client.force_login(console_users[role])
        return client

    return make


@pytest.fixture(autouse=True)
def fresh_dead_letter_streams() -> None:
    """Each test's first sample looks for dead-letter streams afresh."""
    DEAD_LETTER_STREAMS.scanned_at = float("-inf")
    DEAD_LETTER_STREAMS.others = set()
