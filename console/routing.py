"""WebSocket routes: the console socket (session) and the public feed (token)."""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.security.websocket import (
    AllowedHostsOriginValidator,
    OriginValidator,
)
from django.conf import settings
from django.urls import path

from console.consumers import DashboardConsumer
from console.feed.consumer import FeedConsumer


class FeedOriginValidator(OriginValidator):  # type: ignore[misc]
    """Check browser origins as the console does; let origin-less clients in.

    A client without an Origin header is not a browser page, so it cannot
    ride a victim's cookies; the feed requires its token regardless
    (FIELD-NOTES: non-browser clients only with a mandatory token).
    """

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return bool(self.validate_origin(parsed_origin))


def feed_origin_validator(application: Any) -> FeedOriginValidator:
    """Wrap the feed with the same allowed hosts as the console's sockets."""
    allowed = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed:
        allowed = ["localhost", "127.0.0.1", "[::1]"]
    return FeedOriginValidator(application, allowed)


websocket_urlpatterns = [
    # A page from another site must not open a socket with the user's
    # session cookie (cross-site WebSocket hijacking; FIELD-NOTES).
    path(
        "ws/console/",
        AllowedHostsOriginValidator(AuthMiddlewareStack(DashboardConsumer.as_asgi())),
    ),
    path("ws/v1/events", feed_origin_validator(FeedConsumer.as_asgi())),
]
