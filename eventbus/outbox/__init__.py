"""Transactional outbox: publish events if and only if the transaction commits.

``publish_on_commit`` stores the encoded event in the ``OutboxEvent`` table in
the caller's transaction; the relay (``relay_pending``, run by the beat task,
``manage.py bus relay`` and, best effort, right after each commit) appends
committed rows to the log. An event whose transaction committed reaches the
log even if the process dies right after the commit, and under normal
operation it reaches the log once: one relay works at a time (a Redis lease)
and an attempt that died after its write is recognised (see ``relay``).
"""

from __future__ import annotations

from eventbus.outbox.enqueue import publish_on_commit
from eventbus.outbox.maintenance import Backlog, outbox_backlog, purge_published
from eventbus.outbox.relay import RelayResult, relay_batch, relay_pending
from eventbus.outbox.runner import run_relay

__all__ = [
    "Backlog",
    "RelayResult",
    "outbox_backlog",
    "publish_on_commit",
    "purge_published",
    "relay_batch",
    "relay_pending",
    "run_relay",
]
