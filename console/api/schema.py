"""OpenAPI pieces drf-spectacular cannot guess: the bearer token scheme.

Imported by console/api/urls.py so that the extension is registered before
the schema is generated.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Document ``BearerTokenAuthentication`` as HTTP bearer auth."""

    target_class = "console.api.auth.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sy_<key id>_<secret>",
            "description": "An API token (Django admin or 'manage.py bus token "
            "create'). Its scopes (publish, subscribe, manage per topic "
            "pattern) decide what it may do.",
        }


class ConsoleSessionScheme(OpenApiAuthenticationExtension):
    """Document the console's session login (CSRF token needed for writes)."""

    target_class = "console.api.auth.ConsoleSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": "A console login; the role maps to scopes (viewer: "
            "subscribe; operator and admin: all). Writes need the X-CSRFToken "
            "header.",
        }
