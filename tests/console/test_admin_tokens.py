"""API tokens in Django admin: shown once, hashed, scoped, revoked, audited."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from console.exceptions import TokenRefused
from console.models import ApiToken, AuditEntry
from console.tokens import Scope, token_allows, token_authenticate, token_create

ADD = "admin:console_apitoken_add"


def token_form(scopes: list[dict[str, str]], **fields: str) -> dict[str, str]:
    """The add form with its scope inline rows, as a browser posts them."""
    form = {
        "name": "mobile-app",
        "expires_at_0": "",
        "expires_at_1": "",
        "publish_rate": "",
        "max_connections": "",
        "scopes-TOTAL_FORMS": str(len(scopes)),
        "scopes-INITIAL_FORMS": "0",
        "scopes-MIN_NUM_FORMS": "1",
        "scopes-MAX_NUM_FORMS": "1000",
    }
    for n, scope in enumerate(scopes):
        form.update({f"scopes-{n}-{k}": v for k, v in scope.items()})
    form.update(fields)
    return form


def secret_of(plaintext: str) -> str:
    """Return the secret part of ``sy_<12-char key id>_<secret>``."""
    return plaintext[len("sy_") + 12 + 1 :]


def created_token(html: str) -> str:
    found = re.search(r'<code id="token-plaintext">([^<]+)</code>', html)
    assert found, "the page shows the new token"
    return found.group(1)


@pytest.fixture
def admin(client_as):
    return client_as("admin")


def test_adding_a_token_shows_it_once_and_keeps_only_its_hash(db, admin):
    """The add answers with the plaintext; the row holds its SHA-256 only."""
    response = admin.post(
        reverse(ADD),
        token_form(
            [
                {"topics": "orders", "publish": "on", "subscribe": "on"},
                {"topics": "*", "manage": "on"},
            ],
            publish_rate="50",
        ),
    )
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    plaintext = created_token(response.content.decode())
    token = ApiToken.objects.get()
    secret = secret_of(plaintext)
    assert token.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {str(v) for v in token.__dict__.values()}
    assert token.publish_rate == 50 and token.created_by.username == "admin"
    assert token_authenticate(plaintext).pk == token.pk
    assert token_allows(token, Scope.PUBLISH, "orders")
    assert token_allows(token, Scope.MANAGE, "stock")
    assert not token_allows(token, Scope.PUBLISH, "stock")
    page = admin.get(reverse("admin:console_apitoken_change", args=[token.pk]))
    assert secret not in page.content.decode()
    entry = AuditEntry.objects.get(action="token.create")
    assert (entry.via, entry.username) == ("admin", "admin")
    assert entry.after["scopes"] == ["manage:*", "publish,subscribe:orders"]
    assert secret not in str(entry.after)


@pytest.mark.parametrize(
    ("scopes", "fields", "says"),
    [
        ([], {}, "Please submit at least 1 form"),
        ([{"topics": "orders"}], {}, "Tick at least one of publish"),
        ([{"topics": "or ders", "publish": "on"}], {}, "is not valid"),
        (
            [{"topics": "orders", "publish": "on"}],
            {"expires_at_0": "2000-01-01", "expires_at_1": "00:00"},
            "This time is in the past",
        ),
    ],
)
def test_a_bad_token_form_is_explained_and_nothing_is_created(
    db, admin, scopes, fields, says
):
    """Missing or malformed scopes and past expiries are named on the form."""
    response = admin.post(reverse(ADD), token_form(scopes, **fields))
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not ApiToken.objects.exists()
    assert not AuditEntry.objects.exists()


def test_the_list_shows_key_id_scopes_expiry_and_revocation(db, admin):
    """Each row names the key id (never the secret), scopes and state."""
    expires = timezone.now() + timedelta(days=30)
    token, plaintext = token_create(
        name="edge", scopes=["subscribe:orders"], expires_at=expires
    )
    html = admin.get(reverse("admin:console_apitoken_changelist")).content.decode()
    assert f"sy_{token.key_id}_…" in html
    assert "subscribe:orders" in html
    assert secret_of(plaintext) not in html
    assert '<td class="field-revoked"><img src="/static/admin/img/icon-no.svg"' in html


def test_revoking_refuses_the_token_from_then_on_with_audit(db, admin):
    """The revoke action marks selected tokens revoked; they no longer authenticate."""
    token, plaintext = token_create(name="edge", scopes=["publish:orders"])
    response = admin.post(
        reverse("admin:console_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert "Revoked 1 token(s)" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    with pytest.raises(TokenRefused, match="was revoked"):
        token_authenticate(plaintext)
    entry = AuditEntry.objects.get(action="token.revoke")
    assert entry.via == "admin"
    assert entry.before["revoked_at"] is None and entry.after["revoked_at"]


def test_changing_scopes_is_audited_with_before_and_after(db, admin):
    """Editing a token's scope inline records the old and new scopes."""
    token, _ = token_create(name="edge", scopes=["publish:orders"])
    scope = token.scopes.get()
    form = token_form(
        [
            {
                "id": str(scope.pk),
                "token": str(token.pk),
                "topics": "order*",
                "subscribe": "on",
            }
        ],
        **{"scopes-INITIAL_FORMS": "1", "name": "edge"},
    )
    url = reverse("admin:console_apitoken_change", args=[token.pk])
    assert admin.post(url, form).status_code == 302
    entry = AuditEntry.objects.get(action="token.change")
    assert entry.before["scopes"] == ["publish:orders"]
    assert entry.after["scopes"] == ["subscribe:order*"]


def test_an_operator_can_neither_add_nor_revoke_tokens(db, client_as):
    """Tokens are the admin role's: an operator sees them read-only."""
    token, _ = token_create(name="edge", scopes=["publish:orders"])
    operator = client_as("operator")
    assert operator.get(reverse("admin:console_apitoken_changelist")).status_code == 200
    assert operator.get(reverse(ADD)).status_code == 403
    operator.post(
        reverse("admin:console_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )
    token.refresh_from_db()
    assert token.revoked_at is None
    assert not AuditEntry.objects.exists()
