"""A feed connection's outgoing queue and the task that drains it.

Everything sent to the client goes through one bounded queue: control
frames as text, events as hub ``Item``s with their subscription. The sender
drops events at or before what the subscription already sent (the replay
seam) and stops while the transport holds too much; when the queue passes
``buffer`` frames the client is too slow and is closed with 4008, naming
the position to resume from.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from console.feed.hub import Item
from console.feed.link import HIGH_WATER, Link
from console.feed.protocol import SLOW, control

if TYPE_CHECKING:
    from console.feed.subscription import Subscription

logger = logging.getLogger(__name__)

SendText = Callable[[str], Awaitable[None]]
Close = Callable[[int, str], Awaitable[None]]
YIELD_EVERY = 64  # frames sent before letting other connections run


class Connection:
    """The queue toward one client and the sender task draining it."""

    def __init__(self, send_text: SendText, close: Close, link: Link, buffer: int):
        self.send_text = send_text
        self.close = close
        self.link = link
        self.buffer = buffer
        self.queue: deque[tuple[Subscription, Item] | str] = deque()
        self.wake = asyncio.Event()
        self.closed = asyncio.Event()
        self.sender: asyncio.Task[None] | None = None
        self.sent_events = 0

    def start(self) -> None:
        self.sender = asyncio.get_running_loop().create_task(self._send())

    def stop(self) -> None:
        self.closed.set()
        self.queue.clear()
        if self.sender is not None:
            self.sender.cancel()

    def push_control(self, kind: str, **fields: Any) -> None:
        if not self.closed.is_set():
            self.queue.append(control(kind, **fields))
            self.wake.set()

    def push_items(
        self, sub: Subscription, items: Iterable[Item], paced: bool = False
    ) -> None:
        """Queue events; ``paced`` ones (history) wait for ``room`` instead."""
        if self.closed.is_set():
            return
        # Only a backlog left from earlier batches counts: one large batch
        # (a burst of publish_many) is not the client's fault.
        if not paced and len(self.queue) > self.buffer:
            self.too_slow(len(self.queue))
            return
        if self.link.direct and not self.queue:
            # Nothing waits ahead of these: write them now, on the loop, as
            # long as the transport takes them; queue what is left.
            items = self._write(sub, list(items))
            if not items:
                return
        self.queue.extend((sub, item) for item in items)
        self.wake.set()

    def _write(self, sub: Subscription, items: list[Item]) -> list[Item]:
        """Write ``items`` directly until the transport backs up; return the rest."""
        link, sent = self.link, sub.sent
        for n, item in enumerate(items):
            if n % YIELD_EVERY == 0 and link.backlog() > HIGH_WATER:
                return items[n:]
            if sub.state == "closed":
                return []
            done = sent[item.topic]
            last = done.get(item.partition)
            if last is not None and item.key <= last:
                continue  # already sent: the replay/live seam
            done[item.partition] = item.key
            link.write(item.wire)
            self.sent_events += 1
        return []

    async def room(self) -> None:
        """Wait until the queue is at most half full (replay back-pressure)."""
        while not self.closed.is_set() and len(self.queue) > self.buffer // 2:
            await asyncio.sleep(0.005)

    def too_slow(self, behind: int) -> None:
        """Close a client that fell too far behind; it resumes from its position."""
        if self.closed.is_set():
            return
        self.closed.set()
        self.queue.clear()
        reason = (
            f"Too slow: {behind} frames waited (the limit is {self.buffer}). "
            "Reconnect and resume from the last syoffset you received."
        )
        logger.info("Feed client closed as slow (%d frames behind).", behind)
        asyncio.get_running_loop().create_task(self.close(SLOW, reason))

    async def _send(self) -> None:
        queue, send_text, link = self.queue, self.send_text, self.link
        try:
            while not self.closed.is_set():
                await self.wake.wait()
                self.wake.clear()
                since_yield = 0
                while queue and not self.closed.is_set():
                    entry = queue.popleft()
                    if isinstance(entry, str):
                        await send_text(entry)
                        continue
                    sub, item = entry
                    if sub.state == "closed":
                        continue
                    sent = sub.sent[item.topic]
                    last = sent.get(item.partition)
                    if last is not None and item.key <= last:
                        continue  # already sent: the replay/live seam
                    sent[item.partition] = item.key
                    if link.direct:
                        link.write(item.wire)
                    else:
                        await send_text(item.frame)
                    self.sent_events += 1
                    since_yield += 1
                    if since_yield >= YIELD_EVERY:
                        since_yield = 0
                        await link.drain(self.closed)
                        await asyncio.sleep(0)
                if not self.closed.is_set():
                    await link.drain(self.closed)
        except asyncio.CancelledError:
            raise
        except Exception:  # the socket went away mid-send: nothing to tell
            logger.debug("Feed sender stopped.", exc_info=True)
            self.closed.set()
