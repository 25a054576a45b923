"""Per-process checks of live feed connections, every few seconds.

Closes connections whose token was revoked, deleted or expired (1008), that
never authenticated in time (1008), or that sat idle without a subscription
(4000); ends the subscriptions on topics the token lost its ``subscribe``
scope on (an error frame; the socket stays); and extends the connection-cap
leases of the rest in Redis. A token with an open connection is in use: its
``last_used_at`` is kept fresh (at most one write per ``TOUCH_EVERY``), so
nobody revokes it as unused.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections import defaultdict
from typing import TYPE_CHECKING

from django.db import close_old_connections
from django.utils import timezone

from console.feed.protocol import IDLE, POLICY
from console.models import ApiToken
from console.tokens import TOUCH_EVERY, api_setting, grants, token_state
from eventbus.exceptions import BusError
from eventbus.slots import refresh_slots

if TYPE_CHECKING:
    from console.feed.consumer import FeedConsumer

logger = logging.getLogger(__name__)


def lease_seconds() -> float:
    """Return how long a connection-cap slot lives without a refresh."""
    return max(float(api_setting("FEED_RECHECK_SECONDS")) * 5, 30.0)


class Watchdog:
    """The connections of one event loop and the task that checks them."""

    def __init__(self) -> None:
        self.consumers: set[FeedConsumer] = set()
        self.task: asyncio.Task[None] | None = None

    def add(self, consumer: FeedConsumer) -> None:
        self.consumers.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        period = float(api_setting("FEED_RECHECK_SECONDS"))
        while self.consumers:
            await asyncio.sleep(period)
            try:
                await self.check()
            except Exception:  # one bad round must not stop the checks
                logger.exception("Feed connection check failed.")

    async def check(self) -> None:
        """Run one round of checks now."""
        now = time.monotonic()
        live = [c for c in self.consumers if not c.ending]
        auth_wait = float(api_setting("FEED_AUTH_SECONDS"))
        idle = float(api_setting("FEED_IDLE_SECONDS"))
        for consumer in live:
            if consumer.token is None and now - consumer.opened > auth_wait:
                await consumer.end(
                    POLICY, f"No API token within {auth_wait:g} s of connecting."
                )
            elif not consumer.subs and now - consumer.active > idle:
                await consumer.end(
                    IDLE, f"Idle for {idle:g} s without a subscription; closing."
                )
        authed = [c for c in live if c.token is not None and not c.ending]
        if not authed:
            return
        pks = {c.token.pk for c in authed if c.token is not None}
        reasons, rows = await asyncio.to_thread(_recheck, pks)
        holders: dict[str, list[str]] = defaultdict(list)
        for consumer in authed:
            token = consumer.token
            if token is None or consumer.ending:
                continue  # closed while the tokens were read
            reason = reasons.get(token.pk)
            if reason:
                await consumer.end(POLICY, reason)
                continue
            row = rows.get(token.pk)
            if row is not None:
                consumer.refresh_token(row)
            holders[token.key_id].append(consumer.id)
        try:
            await asyncio.to_thread(_refresh, holders)
        except BusError as exc:
            logger.warning("Could not refresh feed connection leases: %s", exc)


def _recheck(pks: set[int]) -> tuple[dict[int, str], dict[int, ApiToken]]:
    """Return why each token may no longer be used ("" while live), and its row.

    The rows come with their scopes, read in one query for all tokens, so
    checking subscriptions against them on the event loop reads nothing.
    Live tokens whose ``last_used_at`` is older than ``TOUCH_EVERY`` are
    marked used now: their connections are using them.
    """
    close_old_connections()
    now = timezone.now()
    tokens = ApiToken.objects.filter(pk__in=pks).prefetch_related("scopes")
    rows = {t.pk: t for t in tokens}
    for row in rows.values():
        grants(row)  # cached on the row: the event loop must not query
    reasons = {
        pk: token_state(rows[pk], now) if pk in rows else "The API token was deleted."
        for pk in pks
    }
    stale = [
        pk
        for pk, row in rows.items()
        if not reasons[pk]
        and (row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY)
    ]
    if stale:
        ApiToken.objects.filter(pk__in=stale).update(last_used_at=now)
    return reasons, rows


def _refresh(holders: dict[str, list[str]]) -> None:
    for key_id, ids in holders.items():
        refresh_slots(f"feed:{key_id}", ids, ttl=lease_seconds())


_WATCHDOGS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Watchdog] = (
    weakref.WeakKeyDictionary()
)


def current() -> Watchdog:
    """Return the watchdog of the running event loop."""
    loop = asyncio.get_running_loop()
    dog = _WATCHDOGS.get(loop)
    if dog is None:
        dog = _WATCHDOGS[loop] = Watchdog()
    return dog


def register(consumer: FeedConsumer) -> None:
    current().add(consumer)


def unregister(consumer: FeedConsumer) -> None:
    current().consumers.discard(consumer)
