"""A lease in Redis: at most one holder at a time, released by its holder or expiry.

``SET key token NX PX ttl`` takes it; renewal and release are compare-and-set
Lua scripts, so a holder whose lease expired and was taken by another process
can neither extend nor delete the new holder's lease. A holder that dies
(SIGKILL, lost host) blocks others for at most ``ttl_ms``. The outbox relay
holds one ``Lease``; consumer-group members renew many at once with the same
scripts (``eventbus.consumer.membership``).
"""

from __future__ import annotations

import os
import socket
import uuid

import redis

from eventbus.client import redis_errors
from eventbus.exceptions import LeaseLost

RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    """One attempt to hold ``key`` for ``ttl_ms`` milliseconds at a time."""

    def __init__(self, client: redis.Redis, key: str, ttl_ms: int) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = ttl_ms
        # Readable holder: an operator who finds the key sees who holds it.
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self.held = False

    def acquire(self) -> bool:
        """Take the lease if nobody holds it; return whether it is now held."""
        with redis_errors(f"take the lease {self.key}"):
            self.held = bool(
                self.client.set(self.key, self.token, nx=True, px=self.ttl_ms)
            )
        return self.held

    def renew(self) -> None:
        """Extend the lease to a full ``ttl_ms``, or raise ``LeaseLost``."""
        with redis_errors(f"renew the lease {self.key}"):
            renewed = self.client.eval(RENEW, 1, self.key, self.token, self.ttl_ms)
        if not renewed:
            self.held = False
            raise LeaseLost(
                f"The lease {self.key} expired before its holder finished (it is "
                f"held for {self.ttl_ms} ms per step); another process may hold it "
                "now, so this one stopped before writing. This is safe; if it "
                "repeats, look for long pauses (slow database, swapping)."
            )

    def release(self) -> None:
        """Give the lease up if this object still holds it."""
        if not self.held:
            return
        self.held = False
        with redis_errors(f"release the lease {self.key}"):
            self.client.eval(RELEASE, 1, self.key, self.token)


def lease_holder(client: redis.Redis, key: str) -> str | None:
    """Return the token of the current holder of ``key``, if any."""
    with redis_errors(f"read the lease {key}"):
        raw = client.get(key)
    return raw.decode() if isinstance(raw, bytes) else raw
