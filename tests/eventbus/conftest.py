"""Bus-core tests declare their own event types; the services' are hidden here."""

from __future__ import annotations

import pytest

from eventbus.schemas import _registry


@pytest.fixture(autouse=True)
def _without_service_event_types(_isolated_schema_registry: None) -> None:
    """Hide types the retail services declare, so tests may reuse their names.

    The root conftest restores the full registry after the test.
    """
    for name in [
        name
        for name, versions in _registry._types.items()
        if any(v.producer in SERVICES for v in versions.values())
    ]:
        del _registry._types[name]


SERVICES = {"checkout", "inventory", "shipping", "contact", "analytics"}
