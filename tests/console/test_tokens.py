"""API tokens: shown once, stored hashed, scoped per topic pattern, expire, revoke."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from console.exceptions import InvalidScope, ScopeDenied, TokenRefused
from console.models import ApiToken, TokenScope
from console.tokens import (
    TOUCH_EVERY,
    Scope,
    ScopeSpec,
    parse_scope,
    require_scope,
    token_allows,
    token_authenticate,
    token_create,
    token_revoke,
    token_state,
)

pytestmark = pytest.mark.django_db


def test_a_token_is_shown_once_and_only_its_hash_is_stored():
    """The plaintext is sy_<key id>_<secret>; the row holds the secret's SHA-256."""
    token, plaintext = token_create(name="edge", scopes=["publish:orders"])
    prefix, key_id, secret = plaintext.split("_", 2)
    assert prefix == "sy" and key_id == token.key_id and len(secret) == 43
    row = ApiToken.objects.get()
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(row.__dict__)
    assert secret not in str(row)


def test_two_tokens_never_share_a_key_or_secret():
    plaintexts = {
        token_create(name=f"t{n}", scopes=["subscribe:*"])[1] for n in range(20)
    }
    assert len(plaintexts) == 20
    assert len({p.split("_")[1] for p in plaintexts}) == 20


def test_authenticate_returns_the_live_token():
    token, plaintext = token_create(name="edge", scopes=["subscribe:*"])
    assert token_authenticate(plaintext).pk == token.pk
    assert token_authenticate(f"  {plaintext} ").pk == token.pk


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (None, "No API token"),
        ("", "No API token"),
        ("Bearer sy_x", "malformed"),
        ("sy_" + "a" * 12 + "_" + "b" * 43, "not valid"),
    ],
)
def test_missing_malformed_and_unknown_tokens_are_refused(raw, words):
    with pytest.raises(TokenRefused, match=words):
        token_authenticate(raw)


def test_a_wrong_secret_is_refused_without_echoing_it():
    _, plaintext = token_create(name="edge", scopes=["subscribe:*"])
    forged = plaintext[:-3] + ("xyz" if not plaintext.endswith("xyz") else "abc")
    with pytest.raises(TokenRefused) as refused:
        token_authenticate(forged)
    assert forged not in str(refused.value)


def test_an_expired_token_is_refused_naming_its_key_only():
    token, plaintext = token_create(
        name="edge",
        scopes=["subscribe:*"],
        expires_at=timezone.now() + timedelta(hours=1),
    )
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    with pytest.raises(TokenRefused, match="expired") as refused:
        token_authenticate(plaintext)
    assert token.key_id in str(refused.value)
    assert plaintext.rsplit("_", 1)[1] not in str(refused.value)


def test_an_expiry_in_the_past_is_refused_at_creation():
    with pytest.raises(InvalidScope, match="in the past"):
        token_create(
            name="edge",
            scopes=["subscribe:*"],
            expires_at=timezone.now() - timedelta(1),
        )


def test_a_revoked_token_is_refused_and_revoking_twice_keeps_the_first_time():
    token, plaintext = token_create(name="edge", scopes=["subscribe:*"])
    token_revoke(token=token)
    first = ApiToken.objects.get().revoked_at
    token_revoke(token=ApiToken.objects.get())
    assert ApiToken.objects.get().revoked_at == first
    with pytest.raises(TokenRefused, match="revoked"):
        token_authenticate(plaintext)
    assert "revoked" in token_state(ApiToken.objects.get())


def test_last_used_is_written_at_most_once_per_interval():
    """A busy token does not turn every request into a database write."""
    _, plaintext = token_create(name="edge", scopes=["subscribe:*"])
    token_authenticate(plaintext)
    first = ApiToken.objects.get().last_used_at
    assert first is not None
    token_authenticate(plaintext)
    assert ApiToken.objects.get().last_used_at == first
    ApiToken.objects.update(last_used_at=first - TOUCH_EVERY)
    token_authenticate(plaintext)
    assert ApiToken.objects.get().last_used_at > first - TOUCH_EVERY


def test_scopes_parse_and_merge_per_pattern():
    token, _ = token_create(
        name="edge", scopes=["publish:orders", "subscribe:orders", "manage:ord*"]
    )
    rows = {
        (r.topics, r.publish, r.subscribe, r.manage) for r in TokenScope.objects.all()
    }
    assert rows == {("orders", True, True, False), ("ord*", False, False, True)}
    assert str(parse_scope("subscribe,publish:a*")) == "publish,subscribe:a*"


@pytest.mark.parametrize(
    "text", ["publish", "read:orders", ":orders", "publish:", "publish:or ders"]
)
def test_malformed_scopes_say_how_to_write_them(text):
    with pytest.raises(InvalidScope, match="<scopes>:<topics>"):
        parse_scope(text)


def test_scopes_match_topic_names_and_patterns():
    token, _ = token_create(
        name="edge",
        scopes=[ScopeSpec("ord*", frozenset({Scope.PUBLISH})), "subscribe:*"],
    )
    assert token_allows(token, Scope.PUBLISH, "orders")
    assert not token_allows(token, Scope.PUBLISH, "payments")
    assert token_allows(token, Scope.SUBSCRIBE, "payments")
    assert not token_allows(token, Scope.MANAGE, "orders")


def test_require_scope_names_the_missing_topics_and_a_fix():
    token, _ = token_create(name="edge", scopes=["publish:orders"])
    require_scope(token, Scope.PUBLISH, ["orders"])
    with pytest.raises(ScopeDenied) as denied:
        require_scope(token, Scope.PUBLISH, ["orders", "payments", "audit"])
    message = str(denied.value)
    assert "audit, payments" in message and "'publish:audit'" in message
    assert "orders," not in message
