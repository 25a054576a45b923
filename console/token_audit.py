"""How API token changes appear in the audit log (admin and CLI alike)."""

from __future__ import annotations

from typing import Any

from console.models import ApiToken


def token_label(token: ApiToken) -> str:
    """Return how audit entries and messages name a token (never its secret)."""
    return f"token {token.name} (sy_{token.key_id}_…)"


def token_snapshot(token: ApiToken) -> dict[str, Any]:
    """Return a token's settings and scopes as a JSON-ready dict."""
    return {
        "name": token.name,
        "key_id": token.key_id,
        "scopes": sorted(str(s) for s in token.scopes.all()),
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        "revoked_at": token.revoked_at.isoformat() if token.revoked_at else None,
        "publish_rate": token.publish_rate,
        "max_connections": token.max_connections,
    }
