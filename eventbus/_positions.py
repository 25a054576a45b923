"""Group positions on one partition: exact counts and the atomic position write.

A group's position is the id of the last event it considers delivered
(``last-delivered-id``). Redis keeps lag exact only when it is told how many
entries the group has read (``ENTRIESREAD``); that number is
``entries-added - (entries present after the position)``. Counting the
entries after a position may page through the stream, so the count and the
write are two steps: the write runs in a Lua script that re-checks that no
entry was removed since the count in a way that changes it, and the caller
counts again when it was (see ``set_position``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from eventbus.client import server_version
from eventbus.exceptions import GroupError
from eventbus.keys import positions_key, stream_key
from eventbus.streams import StreamState, parse_id, split_id, stream_state, text

ORIGIN = "0-0"
PAGE = 1000
ATTEMPTS = 5


def entry_ids(rows: Any) -> list[str]:
    """Return the ids of an XRANGE / XREVRANGE reply."""
    return [text(row[0]) for row in rows or ()]


def normalize_id(stream_id: str) -> str:
    """Return ``stream_id`` as ``ms-seq`` without leading zeros; raise ValueError."""
    parts = split_id(stream_id.strip())
    if parts is None:
        raise ValueError(stream_id)
    return f"{parts[0]}-{parts[1]}"


def before(a: str, b: str) -> bool:
    """Return True when stream id ``a`` sorts strictly before ``b``."""
    return parse_id(a) < parse_id(b)


def removed_total(state: StreamState) -> int:
    """Return how many entries were ever trimmed or deleted from the stream."""
    if not state.exists:
        return 0
    return int(state.entries_added or 0) - state.length


@dataclass(frozen=True)
class Count:
    """Entries after a position on one partition, and what ENTRIESREAD must say."""

    after: int
    entries_read: int
    state: StreamState

    @property
    def removed(self) -> int:
        return removed_total(self.state)


def count_after(
    client: redis.Redis, topic: str, partition: int, position: str
) -> Count:
    """Count the entries with an id greater than ``position``, exactly."""
    for _ in range(ATTEMPTS):
        state = stream_state(client, topic, partition)
        after = _edge_count(state, position)
        if after is None:
            after = _page_count(client, stream_key(topic, partition), state, position)
            # A trim or XDEL while paging changes the count; measure again
            # (before 7.0 there is no entries-added to tell: best effort).
            removed = removed_total(stream_state(client, topic, partition))
            if state.entries_added is not None and removed != removed_total(state):
                continue
        return Count(after, int(state.entries_added or 0) - after, state)
    raise GroupError(
        f"Partition {partition} of '{topic}' was trimmed or had entries deleted "
        f"during each of {ATTEMPTS} counts. Pause the retention job (or producers "
        "that trim on XADD) and try again."
    )


def _edge_count(state: StreamState, position: str) -> int | None:
    if not state.exists or state.length == 0:
        return 0
    assert state.first_id is not None and state.last_id is not None
    if before(position, state.first_id):
        return state.length
    if not before(position, state.last_id):
        return 0
    return None


def _page_count(
    client: redis.Redis, key: str, state: StreamState, position: str
) -> int:
    """Count from both ends at once, so the cost is twice the shorter side."""
    assert state.first_id is not None and state.last_id is not None
    forward = _pages(client, key, f"({position}", state.last_id, reverse=False)
    backward = _pages(client, key, position, state.first_id, reverse=True)
    ahead = behind = 0
    while True:
        step = next(forward, None)
        if step is None:
            return ahead
        ahead += step
        step = next(backward, None)
        if step is None:
            return max(state.length - behind, 0)
        behind += step


def _pages(
    client: redis.Redis, key: str, start: str, end: str, *, reverse: bool
) -> Iterator[int]:
    while True:
        if reverse:
            rows = entry_ids(client.xrevrange(key, max=start, min=end, count=PAGE))
        else:
            rows = entry_ids(client.xrange(key, min=start, max=end, count=PAGE))
        yield len(rows)
        if len(rows) < PAGE:
            return
        start = f"({rows[-1]}"


# KEYS: stream, positions hash. ARGV: group, position, entries_read,
# removed-at-count, mode (create|set), clear pending (1|0).
_SET_POSITION = """
local function num_cmp(a, b)
  if #a ~= #b then return #a < #b and -1 or 1 end
  if a == b then return 0 end
  return a < b and -1 or 1
end
local function id_cmp(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  local c = num_cmp(am, bm)
  if c ~= 0 then return c end
  return num_cmp(as, bs)
end
local key, group, pos, n = KEYS[1], ARGV[1], ARGV[2], ARGV[3]
local expected = tonumber(ARGV[4])
local extra = {}
if n ~= '' then  -- '' on servers before 7.0: no ENTRIESREAD, nothing to check
  extra = {'ENTRIESREAD', n}
  if redis.call('EXISTS', key) == 1 then
    local info = redis.call('XINFO', 'STREAM', key)
    local f = {}
    for i = 1, #info, 2 do f[info[i]] = info[i + 1] end
    if f['entries-added'] - f['length'] ~= expected then
      -- Removals since the count are harmless only if all were at or before pos.
      local first = f['first-entry']
      local deleted = f['max-deleted-entry-id'] or '0-0'
      if not first or id_cmp(first[1], pos) > 0 or id_cmp(deleted, pos) > 0 then
        return {'stale', 0}
      end
    end
  elseif expected ~= 0 then
    return {'stale', 0}
  end
end
local acked = 0
if ARGV[5] == 'create' then
  redis.call('XGROUP', 'CREATE', key, group, pos, 'MKSTREAM', unpack(extra))
else
  local reply = redis.pcall('XGROUP', 'SETID', key, group, pos, unpack(extra))
  if type(reply) == 'table' and reply.err then
    if redis.call('EXISTS', key) == 1 and not string.find(reply.err, 'NOGROUP') then
      return redis.error_reply(reply.err)
    end
    redis.call('XGROUP', 'CREATE', key, group, pos, 'MKSTREAM', unpack(extra))
  end
  if ARGV[6] == '1' then
    local rows = redis.call('XPENDING', key, group, '-', '+', 1000)
    while #rows > 0 do
      local ids = {}
      for i, row in ipairs(rows) do ids[i] = row[1] end
      acked = acked + redis.call('XACK', key, group, unpack(ids))
      rows = redis.call('XPENDING', key, group, '-', '+', 1000)
    end
  end
end
redis.call('HSET', KEYS[2], group, pos)
return {'ok', acked}
"""


@dataclass(frozen=True)
class Written:
    """What ``set_position`` wrote: the count it used and pending entries acked."""

    count: Count
    acked: int


def set_position(
    client: redis.Redis,
    topic: str,
    partition: int,
    group: str,
    position: str,
    *,
    create: bool,
    clear_pending: bool = False,
) -> Written:
    """Create the group at, or move it to, ``position`` with an exact ENTRIESREAD.

    With ``create`` a group that exists raises ``redis.ResponseError``
    (BUSYGROUP); otherwise a missing group (or key) is created there. The
    position is recorded in the partition's positions hash in the same step.
    """
    script = client.register_script(_SET_POSITION)
    keys = [stream_key(topic, partition), positions_key(topic, partition)]
    # ENTRIESREAD (and XINFO's lag) arrived in Redis 7.0; older servers get
    # the position alone and lag is counted (lag.py).
    exact = server_version(client) >= (7, 0)
    for _ in range(ATTEMPTS):
        count = count_after(client, topic, partition, position)
        args: list[str | int] = [
            group,
            position,
            count.entries_read if exact else "",
            count.removed,
            "create" if create else "set",
            "1" if clear_pending else "0",
        ]
        status, acked = script(keys=keys, args=args)
        if text(status) == "ok":
            return Written(count, int(acked))
        time.sleep(0.01)
    raise GroupError(
        f"Partition {partition} of '{topic}' kept changing under the position "
        f"write of group '{group}' ({ATTEMPTS} attempts). Pause the retention "
        "job and try again."
    )
