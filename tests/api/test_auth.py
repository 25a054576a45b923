"""Who may call the API: tokens (401 for bad ones) and console sessions (CSRF)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from console.models import ApiToken
from console.tokens import token_revoke
from tests.api.conftest import Api, assert_problem

TOPICS = "/api/v1/topics"
PUBLISH = "/api/v1/topics/gadgets/events"
BUILT = {"type": "gadget.built", "data": {"gadget_id": "g-1", "amount": 1}}


def assert_refused(response, words: str) -> None:
    body = assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert words in body["detail"], body


def test_no_credentials_are_401_with_a_bearer_challenge(topics):
    """Without a token or login the answer is 401 saying how to authenticate."""
    response = Api().get(TOPICS)
    body = assert_problem(response, 401, "unauthenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "credentials" in body["detail"].lower()


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("Bearer not-a-token", "malformed"),
        ("Bearer sy_abcdefabcdef_" + "A" * 43, "not valid"),
        ("Bearer", "one token"),
        ("Bearer sy_a sy_b", "one token"),
    ],
    ids=["malformed", "unknown", "no-token", "two-tokens"],
)
def test_bad_bearer_headers_are_401(topics, header, words):
    """Malformed, unknown, missing or doubled bearer tokens are refused, saying why."""
    client = Client(headers={"Authorization": header})
    assert_refused(Api(client=client).get(TOPICS), words)


def test_an_expired_token_is_401(topics, make_token):
    """A token past its expiry is refused, naming its key id, not its secret."""
    plaintext = make_token(
        "subscribe:*", expires_at=timezone.now() + timedelta(hours=1)
    )
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = Api(plaintext).get(TOPICS)
    assert_refused(response, "expired")
    assert plaintext not in response.content.decode()


def test_a_revoked_token_is_401(topics, make_token):
    """Revocation takes effect on the next request."""
    plaintext = make_token("subscribe:*")
    api = Api(plaintext)
    assert api.get(TOPICS).status_code == 200
    token_revoke(token=ApiToken.objects.get())
    assert_refused(api.get(TOPICS), "revoked")


def test_a_wrong_secret_for_a_real_key_is_401(topics, make_token):
    """The key id alone does not authenticate: the secret must match."""
    plaintext = make_token("subscribe:*")
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")
    assert_refused(Api(forged).get(TOPICS), "not valid")


def test_a_used_token_records_when_it_was_last_used(topics, make_token):
    """last_used_at is empty until the token is used, then set to about now."""
    plaintext = make_token("subscribe:*")
    assert ApiToken.objects.get().last_used_at is None
    before = timezone.now()
    assert Api(plaintext).get(TOPICS).status_code == 200
    used = ApiToken.objects.get().last_used_at
    assert used is not None and before <= used <= timezone.now()


def test_tokens_never_reach_the_logs(topics, make_token, caplog):
    """Neither accepted, refused nor forbidden requests log the token."""
    plaintext = make_token("subscribe:ledger")
    secret = plaintext.rsplit("_", 1)[1]
    with caplog.at_level(logging.DEBUG):
        Api(plaintext).get(TOPICS)
        Api(plaintext).post(PUBLISH, BUILT)
        Api(plaintext[:-1] + "x").get(TOPICS)
        ApiToken.objects.update(expires_at=timezone.now())
        Api(plaintext).get(TOPICS)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Forbidden" in logged or "Unauthorized" in logged  # something was logged
    assert secret not in logged


def test_a_viewer_session_reads_but_cannot_publish(topics, client_as):
    """The viewer role maps to subscribe only."""
    api = Api(client=client_as("viewer"))
    assert api.get("/api/v1/topics/gadgets/events").status_code == 200
    body = assert_problem(api.post(PUBLISH, BUILT), 403, "forbidden")
    assert "operator" in body["detail"]


def test_an_operator_session_needs_the_csrf_token_to_publish(topics, console_users):
    """Session writes without the CSRF token are 403; with it they publish."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(console_users["operator"])
    api = Api(client=client)
    body = assert_problem(api.post(PUBLISH, BUILT), 403, "forbidden")
    assert "CSRF" in body["detail"]
    client.get("/")  # any console page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    response = api.post(PUBLISH, BUILT, headers={"X-CSRFToken": token})
    assert response.status_code == 201, response.content


def test_a_token_request_ignores_the_session(topics, make_token, console_users):
    """With a Bearer header the token decides, even for a logged-in operator."""
    client = Client(headers={"Authorization": f"Bearer {make_token('subscribe:*')}"})
    client.force_login(console_users["operator"])
    assert_problem(Api(client=client).post(PUBLISH, BUILT), 403, "forbidden")
