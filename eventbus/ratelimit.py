"""Token-bucket rate limits kept in Redis, shared by every process.

A bucket holds up to ``burst`` units and refills at ``rate`` units per
second. Taking ``n`` units either succeeds whole or takes nothing and says
how long to wait; the check and the take are one Lua call, so concurrent
API processes cannot overdraw a bucket. Time is Redis's own (``TIME``), so
clocks of the callers do not matter.
"""

from __future__ import annotations

import redis

from eventbus.client import get_redis, redis_errors

# KEYS[1] bucket hash; ARGV: rate/s, burst, n. Returns 0 (taken) or the
# milliseconds to wait until n units are there.
_TAKE = """
local rate, burst, n = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local now = redis.call('TIME')
local ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'units', 'at')
local units, at = tonumber(state[1]), tonumber(state[2])
if units == nil then units, at = burst, ms end
units = math.min(burst, units + (ms - at) * rate / 1000)
local wait = 0
if units >= n then
  units = units - n
else
  wait = math.ceil((n - units) * 1000 / rate)
end
redis.call('HSET', KEYS[1], 'units', tostring(units), 'at', ms)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
"""


def rate_key(name: str) -> str:
    """Return the key of one named bucket."""
    return f"sy:ratelimit:{name}"


def take(
    name: str,
    n: int,
    *,
    rate: float,
    burst: float,
    client: redis.Redis | None = None,
) -> float:
    """Take ``n`` units from bucket ``name``; return 0.0, or seconds to wait.

    A request larger than ``burst`` can never succeed: it raises
    ``ValueError`` saying so, rather than asking the caller to wait forever.
    """
    if rate <= 0 or burst <= 0:
        raise ValueError(
            f"A rate limit needs rate > 0 and burst > 0 (got {rate}, {burst})."
        )
    if n > burst:
        raise ValueError(
            f"{n} units exceed the bucket's burst of {burst:g}: split the request "
            f"into parts of at most {int(burst)}."
        )
    client = client or get_redis()
    with redis_errors(f"check the rate limit '{name}'"):
        script = client.register_script(_TAKE)
        wait_ms = int(script(keys=[rate_key(name)], args=[rate, burst, n]))
    return wait_ms / 1000.0
