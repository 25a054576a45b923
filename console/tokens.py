"""API tokens: create, authenticate, check scopes, revoke, limit publishing.

A token reads ``sy_<key_id>_<secret>``. It is shown once; the database keeps
the secret's SHA-256 only. Scopes grant ``publish``, ``subscribe`` and
``manage`` per topic or shell-style topic pattern (``orders``, ``order*``,
``*``). Tokens never appear in logs: errors name the key id at most.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from console.exceptions import InvalidScope, ScopeDenied, TokenRefused
from console.models import ApiToken, TokenScope

PREFIX = "sy_"
_TOKEN = re.compile(r"^sy_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
_PATTERN = re.compile(r"^[A-Za-z0-9_.*?\[\]-]{1,100}$")
# last_used_at is written at most this often per token: a busy token must
# not turn every request into a database write.
TOUCH_EVERY = timedelta(seconds=60)


class Scope(StrEnum):
    """What a token may do on a topic."""

    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"
    MANAGE = "manage"


@dataclass(frozen=True)
class ScopeSpec:
    """One scope line: the topics pattern and what it grants there."""

    topics: str
    grants: frozenset[Scope]

    def __str__(self) -> str:
        return f"{','.join(sorted(self.grants))}:{self.topics}"


def api_setting(name: str) -> Any:
    """Return one ``settings.API`` value (see config/settings/base.py)."""
    return settings.API[name]


def parse_scope(text: str) -> ScopeSpec:
    """Parse ``"publish,subscribe:order*"`` into a ``ScopeSpec``."""
    what, sep, topics = text.partition(":")
    names = [n.strip() for n in what.split(",") if n.strip()]
    known = {s.value for s in Scope}
    bad = [n for n in names if n not in known]
    if not sep or not names or bad or not _PATTERN.match(topics):
        raise InvalidScope(
            f"The scope {text!r} is not valid. Write '<scopes>:<topics>' where "
            f"scopes are some of {', '.join(sorted(known))} (comma-separated) and "
            "topics is a topic name or pattern, e.g. 'publish,subscribe:order*'."
        )
    return ScopeSpec(topics, frozenset(Scope(n) for n in names))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(
    *,
    name: str,
    scopes: Iterable[ScopeSpec | str],
    expires_at: datetime | None = None,
    created_by: Any = None,
    publish_rate: int | None = None,
    max_connections: int | None = None,
) -> tuple[ApiToken, str]:
    """Create a token; return it and its plaintext, which is never kept."""
    specs = [parse_scope(s) if isinstance(s, str) else s for s in scopes]
    if not name.strip():
        raise InvalidScope("A token needs a name that says who or what uses it.")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidScope(f"The expiry {expires_at.isoformat()} is in the past.")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            name=name.strip(),
            key_id=key_id,
            secret_hash=_digest(secret),
            expires_at=expires_at,
            created_by=created_by if getattr(created_by, "pk", None) else None,
            publish_rate=publish_rate,
            max_connections=max_connections,
        )
        set_scopes(token, specs)
    return token, f"{PREFIX}{key_id}_{secret}"


def set_scopes(token: ApiToken, specs: Iterable[ScopeSpec]) -> None:
    """Replace a token's scopes; one row per topics pattern."""
    merged: dict[str, set[Scope]] = {}
    for spec in specs:
        merged.setdefault(spec.topics, set()).update(spec.grants)
    token.scopes.all().delete()
    TokenScope.objects.bulk_create(
        TokenScope(
            token=token,
            topics=topics,
            **{scope.value: scope in grants for scope in Scope},
        )
        for topics, grants in merged.items()
    )


def token_authenticate(raw: str | None) -> ApiToken:
    """Return the live token ``raw`` names, or raise ``TokenRefused`` saying why."""
    if not raw:
        raise TokenRefused(
            "No API token. Send 'Authorization: Bearer sy_…' (create a token in "
            "Django admin or with 'manage.py bus token create')."
        )
    match = _TOKEN.match(raw.strip())
    if match is None:
        raise TokenRefused(
            "The API token is malformed: tokens look like sy_<12 chars>_<43 chars>. "
            "Copy it again from where it was shown at creation."
        )
    key_id, secret = match.groups()
    token = ApiToken.objects.filter(key_id=key_id).first()
    if token is None or not hmac.compare_digest(token.secret_hash, _digest(secret)):
        raise TokenRefused("The API token is not valid. Check it or create a new one.")
    refusal = token_state(token)
    if refusal:
        raise TokenRefused(refusal)
    _touch(token)
    return token


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    """Return why ``token`` may no longer be used, or "" while it is live."""
    now = now or timezone.now()
    if token.revoked_at is not None:
        return f"The API token sy_{token.key_id}_… was revoked; use another."
    if token.expires_at is not None and token.expires_at <= now:
        return (
            f"The API token sy_{token.key_id}_… expired at "
            f"{token.expires_at.isoformat()}; create a new one."
        )
    return ""


def _touch(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke ``token`` now; live feed connections close within seconds."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=token.revoked_at)
    return token


def grants(token: ApiToken) -> list[ScopeSpec]:
    """Return the token's scopes (cached on the instance)."""
    cached: list[ScopeSpec] | None = getattr(token, "_grants", None)
    if cached is None:
        cached = [
            ScopeSpec(
                row.topics,
                frozenset(s for s in Scope if getattr(row, s.value)),
            )
            for row in token.scopes.all()
        ]
        token._grants = cached  # type: ignore[attr-defined]
    return cached


def token_allows(token: ApiToken, scope: Scope, topic: str) -> bool:
    """Return whether ``token`` holds ``scope`` on ``topic``."""
    return any(
        scope in spec.grants and fnmatchcase(topic, spec.topics)
        for spec in grants(token)
    )


def require_scope(token: ApiToken, scope: Scope, topics: Iterable[str]) -> None:
    """Raise ``ScopeDenied`` naming the topics ``token`` may not ``scope``."""
    missing = sorted({t for t in topics if not token_allows(token, scope, t)})
    if missing:
        raise ScopeDenied(
            f"The API token '{token.name}' has no '{scope}' scope on "
            f"{', '.join(missing)}. Ask an admin to add a scope such as "
            f"'{scope}:{missing[0]}' to it."
        )
