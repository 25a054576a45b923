"""Schemathesis fuzzes every documented operation in process: no 5xx, and every
response (status, content type, body) conforms to the OpenAPI schema.

The schema is loaded from /api/schema/ through Django's WSGI app; requests
carry a token holding every scope on every topic. Half of the cases pin the
path to a topic, group and type that exist, so the fuzzer reaches past the
404s into validation and the bus. (Hypothesis is driven per operation here:
schemathesis's pytest plugin does not run under pytest 9.)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from eventbus import create_group
from tests.api.conftest import dead_letter, place

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
REAL = {"topic": "gadgets", "group": "shipping", "type": "gadget.built"}
BUILT = {"type": "gadget.built", "data": {"gadget_id": "g-1", "amount": 1}}
# Bodies that publish, so that 201 answers are checked against the schema too.
VALID = {
    ("POST", "/api/v1/topics/{topic}/events"): BUILT,
    ("POST", "/api/v1/batch"): {"events": [{**BUILT, "topic": "gadgets"}] * 2},
}


def _operations() -> list[tuple[str, str]]:
    document = SchemaGenerator().get_schema(request=None, public=True)
    return [
        (method.upper(), path)
        for path, item in sorted(document["paths"].items())
        for method in item
    ]


OPERATIONS = _operations()


@pytest.fixture
def api_schema(topics, make_token) -> Iterator[Any]:
    """The live OpenAPI schema, with a real bus behind it and a token for it."""
    create_group("gadgets", "shipping", start="earliest")
    letters = [dead_letter(topics, place(n), "shipping") for n in range(3)]
    token = make_token("publish,subscribe,manage:*", name="fuzzer")
    # As Django's test client does: a request must not close the test's
    # connection (its transaction holds the topics and the token).
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        loaded = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
        loaded.fuzz_token = token
        loaded.fuzz_real = {**REAL, "dlq_id": letters[0]}
        yield loaded
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_every_documented_operation_is_fuzzed():
    """The bus API's operations are all in the schema (and so all fuzzed)."""
    assert len(OPERATIONS) == 13
    assert all(path.startswith("/api/v1/") for _, path in OPERATIONS)


@pytest.mark.db_heavy
@pytest.mark.parametrize(
    ("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS]
)
def test_the_operation_answers_within_its_schema(api_schema, method, path):
    """No server error; each answer's status, type and body are documented."""
    operation = api_schema[path][method]
    names = {p.name for p in operation.path_parameters}
    pinned = {k: v for k, v in api_schema.fuzz_real.items() if k in names}
    cases = operation.as_strategy()
    if pinned:
        cases = st.one_of(cases, operation.as_strategy(path_parameters=pinned))
    if (method, path) in VALID:
        valid = operation.as_strategy(path_parameters=pinned, body=VALID[method, path])
        cases = st.one_of(cases, valid)
    headers = {"Authorization": f"Bearer {api_schema.fuzz_token}"}

    @given(case=cases)
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def fuzz(case: Any) -> None:
        seen.add(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

    seen: set[int] = set()
    fuzz()
    # The pinned cases get past routing: not every answer is a 404.
    assert seen - {404}, seen
