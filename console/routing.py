"""WebSocket routes: the console socket (session auth, same-origin only)."""

from __future__ import annotations

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from console.consumers import DashboardConsumer

websocket_urlpatterns = [
    # A page from another site must not open a socket with the user's
    # session cookie (cross-site WebSocket hijacking; FIELD-NOTES).
    path(
        "ws/console/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(DashboardConsumer.as_asgi())),
    ),
]
