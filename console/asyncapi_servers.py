"""How clients reach the bus in the AsyncAPI document: servers and security."""

from __future__ import annotations

from typing import Any

from django.conf import settings

FEED_PATH = "/ws/v1/events"
REST_PATH = "/api/v1"
SUBPROTOCOL = "cloudevents.json"

Document = dict[str, Any]


def servers(host: str, secure: bool) -> Document:
    """Return the feed (WebSocket) and REST (HTTP) servers on ``host``."""
    token = {"$ref": "#/components/securitySchemes/apiToken"}
    return {
        "feed": {
            "host": host,
            "protocol": "wss" if secure else "ws",
            "pathname": FEED_PATH,
            "title": "WebSocket event feed",
            "description": (
                f"Offer the `{SUBPROTOCOL}` subprotocol (CloudEvents WebSocket "
                "binding); without it the socket is closed with 1002. Authenticate "
                "with an API token in the handshake's `Authorization: Bearer` "
                'header or as the first message `{"op": "auth", "token": "..."}` '
                'within 10 s. Then send `{"op": "subscribe", "id": "s1", '
                '"topics": [...], "types": ["order.*"], "from": "latest" | '
                '"earliest" | time | saved positions}`; each event arrives as '
                "one structured CloudEvent per text frame with `sytopic`, "
                "`sypartition` and `syoffset`. Close codes: 1008 auth or "
                "scope, 4008 slow consumer (resume from the last syoffset), 4000 "
                "idle."
            ),
            "security": [token],
            "bindings": {"ws": {}},
            "x-subprotocol": SUBPROTOCOL,
        },
        "rest": {
            "host": host,
            "protocol": "https" if secure else "http",
            "pathname": REST_PATH,
            "title": "REST API",
            "description": (
                "Publish one event or a batch, read ranges of a topic, manage "
                "groups and dead letters. Reference: /api/docs/."
            ),
            "security": [token, {"$ref": "#/components/securitySchemes/session"}],
            "bindings": {"http": {}},
        },
    }


def components() -> Document:
    """Return the security schemes and the feed's handshake binding."""
    return {
        "securitySchemes": {
            "apiToken": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "sy_<keyid>_<secret>",
                "description": (
                    "An API token created in Django admin or with 'manage.py bus "
                    "token create', scoped per topic (publish, subscribe, manage). "
                    "Send it as `Authorization: Bearer <token>`; on the feed it may "
                    "instead be the first message. Never put it in the URL."
                ),
            },
            "session": {
                "type": "httpApiKey",
                "name": settings.SESSION_COOKIE_NAME,
                "in": "cookie",
                "description": "The console's login session (its own calls only).",
            },
        },
        # How a channel is reached over the feed: the WebSocket handshake.
        "channelBindings": {
            "feed": {
                "ws": {
                    "method": "GET",
                    "headers": {
                        "type": "object",
                        "required": ["Sec-WebSocket-Protocol"],
                        "properties": {
                            "Sec-WebSocket-Protocol": {"const": SUBPROTOCOL},
                            "Authorization": {"type": "string", "pattern": "^Bearer "},
                        },
                    },
                    "bindingVersion": "0.1.0",
                }
            }
        },
    }
