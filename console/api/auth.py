"""Who is calling the bus API, and what they may do: ``Grants``.

Machines send ``Authorization: Bearer sy_…`` (console/tokens.py); the
console's own pages call with their session (and its CSRF token). Either way
the request carries one ``Grants`` as ``request.auth``, and views ask it
``allows(scope, topic)`` or ``require(scope, topics)``. A logged-in user's
console role maps to scopes: viewer → subscribe on every topic;
operator and admin → publish, subscribe and manage on every topic.

Tokens never reach a log: refusals name the key id at most.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from console.exceptions import ScopeDenied, TokenRefused
from console.models import ApiToken
from console.roles import Role, role_of
from console.tokens import (
    Scope,
    api_setting,
    require_scope,
    token_allows,
    token_authenticate,
)

# What each console role may do on every topic.
ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.NONE: frozenset(),
    Role.VIEWER: frozenset({Scope.SUBSCRIBE}),
    Role.OPERATOR: frozenset(Scope),
    Role.ADMIN: frozenset(Scope),
}


@dataclass(frozen=True)
class Grants:
    """What the caller of one request may do, from its token or its login."""

    token: ApiToken | None = None
    user: Any = None
    role: Role = Role.NONE

    def allows(self, scope: Scope, topic: str) -> bool:
        """Return whether the caller holds ``scope`` on ``topic``."""
        if self.token is not None:
            return token_allows(self.token, scope, topic)
        return scope in ROLE_SCOPES[self.role]

    def allows_any(self, topic: str, scopes: Iterable[Scope] = tuple(Scope)) -> bool:
        """Return whether the caller holds at least one of ``scopes`` on ``topic``."""
        return any(self.allows(scope, topic) for scope in scopes)

    def require(self, scope: Scope, topics: Iterable[str]) -> None:
        """Raise ``ScopeDenied`` unless the caller holds ``scope`` on every topic."""
        topics = list(topics)
        if self.token is not None:
            require_scope(self.token, scope, topics)
            return
        missing = sorted({t for t in topics if not self.allows(scope, t)})
        if missing:
            raise ScopeDenied(
                f"Your console role '{self.role.label}' does not allow '{scope}' "
                f"on {', '.join(missing)}; it needs the operator role. Ask an "
                "admin, or use an API token with that scope."
            )

    @property
    def is_live(self) -> bool:
        """Return whether the caller may use the API at all."""
        return self.token is not None or self.role >= Role.VIEWER

    @property
    def who(self) -> str:
        """Name the caller for the audit log and for refusals."""
        if self.token is not None:
            return f"token '{self.token.name}' (sy_{self.token.key_id}_…)"
        return f"user '{self.user.get_username()}'"

    @property
    def rate_bucket(self) -> str:
        """Return the name of the caller's publish rate-limit bucket."""
        if self.token is not None:
            return f"publish:token:{self.token.key_id}"
        return f"publish:user:{self.user.pk}"

    @property
    def publish_rate(self) -> int:
        """Return the events per second the caller may publish (bursts of 2x)."""
        rate = self.token.publish_rate if self.token is not None else None
        return int(rate or api_setting("PUBLISH_RATE"))


def grants_of(request: Request) -> Grants:
    """Return the request's grants (set by the authentication classes)."""
    grants = request.auth
    if not isinstance(grants, Grants):
        raise exceptions.NotAuthenticated()
    return grants


class BearerTokenAuthentication(BaseAuthentication):
    """``Authorization: Bearer sy_…``: an API token, checked and scoped."""

    keyword = b"bearer"

    def authenticate(self, request: Request) -> tuple[Any, Grants] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None  # no token: the session may still authenticate
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Send exactly one token: 'Authorization: Bearer sy_…'."
            )
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raw = ""
        try:
            token = token_authenticate(raw or "-")
        except TokenRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from None
        return AnonymousUser(), Grants(token=token)

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) with this challenge.
        return 'Bearer realm="switchyard"'


class ConsoleSessionAuthentication(SessionAuthentication):
    """A logged-in console user (with CSRF); the role decides the scopes."""

    def authenticate(self, request: Request) -> tuple[Any, Grants] | None:
        found = super().authenticate(request)
        if found is None:
            return None
        user = found[0]
        return user, Grants(user=user, role=role_of(user))


class HasGrants(BasePermission):
    """Let in callers with a live token or a console role; scopes come later."""

    message = (
        "Your account has no console role, so it cannot use the API. Ask an "
        "admin for the viewer or operator role, or use an API token."
    )

    def has_permission(self, request: Request, view: Any) -> bool:
        grants = request.auth
        return isinstance(grants, Grants) and grants.is_live
