"""Counted slots in Redis: at most N holders of a name across every process.

Used to cap live connections per API token over all Daphne processes. A
holder refreshes its slot while it lives; a process that dies without
releasing loses its slots when their lease runs out, so a crash never
leaves a token locked out for longer than ``ttl``.
"""

from __future__ import annotations

from collections.abc import Iterable

import redis

from eventbus.client import get_redis, redis_errors

# KEYS[1] zset of holder -> lease end (ms); ARGV: holder, cap, ttl ms.
_ACQUIRE = """
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ms)
local held = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not held and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ms + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
"""


def slots_key(name: str) -> str:
    """Return the key of one named set of slots."""
    return f"sy:slots:{name}"


def acquire_slot(
    name: str, holder: str, *, cap: int, ttl: float, client: redis.Redis | None = None
) -> bool:
    """Take one of ``cap`` slots of ``name`` for ``holder``; False when all are held."""
    client = client or get_redis()
    with redis_errors(f"count the holders of '{name}'"):
        script = client.register_script(_ACQUIRE)
        return bool(script(keys=[slots_key(name)], args=[holder, cap, int(ttl * 1000)]))


def refresh_slots(
    name: str, holders: Iterable[str], *, ttl: float, client: redis.Redis | None = None
) -> None:
    """Extend the leases of ``holders`` (call well within ``ttl``)."""
    client = client or get_redis()
    held = list(holders)
    if not held:
        return
    with redis_errors(f"refresh the holders of '{name}'"):
        pipe = client.pipeline(transaction=False)
        for holder in held:
            pipe.eval(_ACQUIRE, 1, slots_key(name), holder, 1 << 30, int(ttl * 1000))
        pipe.execute()


def release_slot(name: str, holder: str, *, client: redis.Redis | None = None) -> None:
    """Give ``holder``'s slot of ``name`` back."""
    client = client or get_redis()
    with redis_errors(f"release a holder of '{name}'"):
        client.zrem(slots_key(name), holder)
