"""Group membership and partition leases: one owner per partition at a time.

Every member of a group heartbeats into a sorted set (score: expiry). Each
computes the same assignment from the same sorted lists of live members and
sources (round-robin), and takes a source only through its lease: a key set
with NX and a TTL, renewed while owned and released with compare-and-delete.
A member that dies stops renewing; its leases expire within ``lease_ms`` and
the members that the new assignment names take them over (runnel's design;
FIELD-NOTES: competing consumers on one stream lose per-key order).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass

import orjson
import redis

from eventbus.keys import lease_key, member_key, members_key
from eventbus.leases import RELEASE, RENEW
from eventbus.streams import server_ms, text


def new_member_id() -> str:
    """Return a unique consumer name: host, pid and a random suffix."""
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True, order=True)
class Source:
    """A stream a group consumes: a topic partition, or the group's redrive stream."""

    topic: str
    partition: int  # -1 for the redrive stream
    key: str

    @property
    def is_redrive(self) -> bool:
        return self.partition < 0

    def label(self) -> str:
        return (
            f"{self.topic}/redrive"
            if self.is_redrive
            else f"{self.topic}/{self.partition}"
        )


def assign(sources: list[Source], members: list[str], me: str) -> list[Source]:
    """Return the sources ``me`` should own: round-robin over sorted members."""
    if me not in members:
        return []
    ordered = sorted(members)
    index, count = ordered.index(me), len(ordered)
    return [source for n, source in enumerate(sorted(sources)) if n % count == index]


class Membership:
    """One member's view of its group: heartbeat, assignment and leases."""

    def __init__(
        self, client: redis.Redis, group: str, member: str, lease_ms: int
    ) -> None:
        self.client = client
        self.group = group
        self.member = member
        self.lease_ms = lease_ms
        self.owned: set[Source] = set()
        self._renew = client.register_script(RENEW)
        self._release = client.register_script(RELEASE)
        self.started_ms = int(time.time() * 1000)

    def heartbeat(self) -> list[str]:
        """Announce this member as alive; return the sorted live members."""
        now = server_ms(self.client)
        key = members_key(self.group)
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(key, {self.member: now + self.lease_ms})
        pipe.zremrangebyscore(key, "-inf", now)
        pipe.zrange(key, 0, -1)
        replies = pipe.execute()
        return sorted(m.decode() for m in replies[2])

    def report(self, status: dict[str, object]) -> None:
        """Publish this member's status (owned sources, counters) for the console."""
        status = {
            "member": self.member,
            "started_ms": self.started_ms,
            "sources": [s.label() for s in sorted(self.owned)],
            **status,
        }
        key = member_key(self.group, self.member)
        self.client.set(key, orjson.dumps(status), px=self.lease_ms)

    def renew(self) -> set[Source]:
        """Extend every owned lease; return (and forget) the ones that were lost."""
        if not self.owned:
            return set()
        pipe = self.client.pipeline(transaction=False)
        owned = sorted(self.owned)
        for source in owned:
            self._renew(
                keys=[lease_key(source.key, self.group)],
                args=[self.member, self.lease_ms],
                client=pipe,
            )
        lost = {
            source for source, ok in zip(owned, pipe.execute(), strict=True) if not ok
        }
        self.owned -= lost
        return lost

    def acquire(self, source: Source) -> bool:
        """Take the source's lease if nobody holds it."""
        key = lease_key(source.key, self.group)
        if self.client.set(key, self.member, nx=True, px=self.lease_ms):
            self.owned.add(source)
            return True
        return False

    def release(self, source: Source) -> None:
        """Give the source's lease up (only if it is still ours)."""
        self.owned.discard(source)
        self._release(keys=[lease_key(source.key, self.group)], args=[self.member])

    def leave(self) -> None:
        """Release every lease and leave the group (graceful shutdown)."""
        for source in sorted(self.owned):
            self.release(source)
        pipe = self.client.pipeline(transaction=False)
        pipe.zrem(members_key(self.group), self.member)
        pipe.delete(member_key(self.group, self.member))
        pipe.execute()


def group_members(client: redis.Redis, group: str) -> list[dict[str, object]]:
    """Return the status each live member of ``group`` last reported."""
    now = server_ms(client)
    names = [text(m) for m in client.zrangebyscore(members_key(group), now, "+inf")]
    if not names:
        return []
    raw = client.mget([member_key(group, name) for name in names])
    return [
        orjson.loads(value) if value else {"member": name, "sources": []}
        for name, value in zip(names, raw, strict=True)
    ]
