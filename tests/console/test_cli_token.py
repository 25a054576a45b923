"""manage.py bus token: create (printed once), list, revoke; errors give advice."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from console.exceptions import TokenRefused
from console.models import ApiToken, AuditEntry
from console.tokens import Scope, token_allows, token_authenticate, token_create

pytestmark = pytest.mark.django_db
TOKEN = re.compile(r"^sy_[a-z0-9]{12}_[A-Za-z0-9_-]{43}$", re.M)


def secret_of(plaintext: str) -> str:
    """Return the secret part of ``sy_<12-char key id>_<secret>``."""
    return plaintext[len("sy_") + 12 + 1 :]


def bus_token(*args: str) -> str:
    out = StringIO()
    call_command("bus", "token", *args, stdout=out)
    return out.getvalue()


def test_create_prints_the_token_once_and_stores_its_hash():
    """The printed token authenticates with the given scopes; only its hash is kept."""
    out = bus_token(
        "create",
        "--name",
        "edge-devices",
        "--scope",
        "publish,subscribe:orders",
        "--scope",
        "manage:*",
        "--rate",
        "25",
    )
    plaintext = TOKEN.search(out).group(0)
    assert out.count(plaintext) == 1
    assert "shown only this once" in out
    token = ApiToken.objects.get()
    secret = secret_of(plaintext)
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert (token.name, token.publish_rate, token.expires_at) == (
        "edge-devices",
        25,
        None,
    )
    assert token_authenticate(plaintext).pk == token.pk
    assert token_allows(token, Scope.SUBSCRIBE, "orders")
    assert token_allows(token, Scope.MANAGE, "stock")
    assert not token_allows(token, Scope.PUBLISH, "stock")
    entry = AuditEntry.objects.get(action="token.create")
    assert entry.via == "cli" and secret not in str(entry.after)
    assert entry.after["scopes"] == ["manage:*", "publish,subscribe:orders"]


def test_expiry_as_a_duration_or_an_iso_time():
    """--expires 30d is 30 days from now; an ISO time is taken as given."""
    bus_token("create", "--name", "a", "--scope", "publish:orders", "--expires", "30d")
    expires = ApiToken.objects.get(name="a").expires_at
    assert abs(expires - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    bus_token(
        "create",
        "--name",
        "b",
        "--scope",
        "publish:orders",
        "--expires",
        "2099-01-31T12:00Z",
    )
    assert ApiToken.objects.get(name="b").expires_at.isoformat() == (
        "2099-01-31T12:00:00+00:00"
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--scope", "publish"], "is not valid. Write '<scopes>:<topics>'"),
        (["--scope", "delete:orders"], "is not valid"),
        (["--scope", "publish:orders", "--expires", "2001-01-01"], "in the past"),
        (["--scope", "publish:orders", "--expires", "soon"], "neither a duration"),
        (["--scope", "publish:orders", "--rate", "0"], "--rate must be"),
    ],
)
def test_bad_create_arguments_are_refused_with_advice(args, says):
    """Each mistake is a CommandError that says what to write; nothing is created."""
    with pytest.raises(CommandError, match=re.escape(says)):
        bus_token("create", "--name", "x", *args)
    assert not ApiToken.objects.exists()


def test_list_shows_tokens_and_their_state_never_secrets():
    """Key ids, names, scopes and live/revoked/expired; no secret anywhere."""
    live, live_text = token_create(name="live-one", scopes=["subscribe:orders"])
    gone, gone_text = token_create(name="revoked-one", scopes=["publish:orders"])
    bus_token("revoke", gone.key_id)
    ApiToken.objects.filter(pk=live.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    out = bus_token("list", "--json")
    rows = {row["name"]: row for row in json.loads(out)}
    assert rows["live-one"]["state"] == "expired"
    assert rows["revoked-one"]["state"] == "revoked"
    assert rows["live-one"]["scopes"] == ["subscribe:orders"]
    table = bus_token("list")
    assert live.key_id in table and gone.key_id in table
    for secret in (live_text, gone_text):
        assert secret_of(secret) not in out + table


def test_revoke_by_key_id_refuses_the_token_from_then_on():
    """Revocation is audited; the token's visible prefix works as the key id too."""
    token, plaintext = token_create(name="edge", scopes=["publish:orders"])
    out = bus_token("revoke", f"sy_{token.key_id}_…")
    assert f"Revoked API token 'edge' (key id {token.key_id})" in out
    with pytest.raises(TokenRefused, match="was revoked"):
        token_authenticate(plaintext)
    assert AuditEntry.objects.get(action="token.revoke").via == "cli"
    again = bus_token("revoke", token.key_id)
    assert "already revoked" in again
    assert AuditEntry.objects.filter(action="token.revoke").count() == 1


def test_revoking_an_unknown_key_id_says_how_to_find_one():
    """An unknown key id is a CommandError pointing at 'bus token list'."""
    with pytest.raises(CommandError, match="bus token list"):
        bus_token("revoke", "000000000000")
