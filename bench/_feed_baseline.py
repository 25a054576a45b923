"""The baseline of bench/feed.py: every event to every socket through group_send.

Served by a second Daphne (``daphne bench._feed_baseline:application``)
with ``DJANGO_SETTINGS_MODULE=bench.settings``, so ``CHANNEL_LAYERS`` is the
project's own channels_redis layer on the benchmark's private Redis. Each
socket at ``/ws/baseline/`` joins one group on connect; the publisher's
``group_send`` of ``{"type": "bench.event", "text": ...}`` reaches each
socket's ``bench_event``, which sends the text as one frame. This is the
fan-out that FIELD-NOTES measured losing frames at 100 sockets x 100/s.
"""

from __future__ import annotations

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
get_asgi_application()  # sets Django up before Channels reads the settings

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

GROUP = "bench-feed-baseline"


class GroupFanout(AsyncWebsocketConsumer):
    """Join the group, then forward every group message as a text frame."""

    async def connect(self) -> None:
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def bench_event(self, message: dict[str, Any]) -> None:
        await self.send(text_data=message["text"])


application = ProtocolTypeRouter(
    {"websocket": URLRouter([path("ws/baseline/", GroupFanout.as_asgi())])}
)
