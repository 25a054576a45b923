"""The console socket: one per browser tab, authenticated by the session.

Close codes: 4401 not logged in, 4403 no console role. Browser origins are
checked by ``AllowedHostsOriginValidator`` in console/routing.py.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from console.roles import Role, role_of

NOT_LOGGED_IN = 4401
NO_ROLE = 4403


class DashboardConsumer(AsyncJsonWebsocketConsumer):  # type: ignore[misc]
    """Push sampled figures, alerts and live tails to one console tab."""

    role: Role = Role.NONE

    async def connect(self) -> None:
        user = self.scope.get("user")
        self.role = await database_sync_to_async(role_of)(user)
        if user is None or not user.is_authenticated:
            await self.close(code=NOT_LOGGED_IN)
            return
        if self.role < Role.VIEWER:
            await self.close(code=NO_ROLE)
            return
        await self.accept()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        await self.send_json(
            {"kind": "error", "message": f"Unknown message {content!r}."}
        )
