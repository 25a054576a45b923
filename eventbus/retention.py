"""Retention: trim partitions by age/length, never past what a group still needs.

Under ``block-trim`` (the default) a partition is trimmed up to the policy's
cut but never past the first entry some group still needs: its oldest pending
entry or the first entry after its last-delivered id. Under ``drop-oldest``
the policy's cut is applied regardless and the unprocessed events it drops
are counted per group. Fixed MAXLEN trimming silently deletes what a slow
group has not read (FIELD-NOTES), so every cut here is an exact ``XTRIM MINID``
at a known id: counts are exact and entries appended after planning (their
ids are above the stream's last id) are never touched.
"""

from __future__ import annotations

import logging

import redis

from eventbus._trim_plan import (
    GroupImpact,
    PartitionPlan,
    TrimPlan,
    TrimReport,
    plan_trim,
)
from eventbus.client import get_redis, redis_errors
from eventbus.keys import positions_key, stream_key
from eventbus.models import OverflowPolicy
from eventbus.streams import text
from eventbus.topics import TopicInfo, list_topics

__all__ = [
    "GroupImpact",
    "PartitionPlan",
    "TrimPlan",
    "TrimReport",
    "apply_plan",
    "plan_trim",
    "trim",
    "trim_all",
]

logger = logging.getLogger(__name__)

# Applied under block-trim so the trim is safe even if a group was reset or
# created between planning and trimming: inside the script, which runs
# atomically, the cut is lowered to the first entry any group still needs.
# Ids are compared as digit strings (Lua numbers lose precision above 2^53).
_SAFE_TRIM = """
local key, positions, cut = KEYS[1], KEYS[2], ARGV[1]
local function lt(a, b)
  local am, as = string.match(a, "^(%d+)%-(%d+)$")
  local bm, bs = string.match(b, "^(%d+)%-(%d+)$")
  if #am ~= #bm then return #am < #bm end
  if am ~= bm then return am < bm end
  if #as ~= #bs then return #as < #bs end
  return as < bs
end
local first = redis.call("XRANGE", key, "-", "+", "COUNT", 1)
if #first == 0 or not lt(first[1][1], cut) then return {0, cut} end
local first_id = first[1][1]
local function keep_after(last)
  if string.match(last, "^%d+%-%d+$") and lt(last, cut) then
    local after = redis.call("XRANGE", key, "(" .. last, "(" .. cut, "COUNT", 1)
    if #after > 0 then cut = after[1][1] end
  end
end
local live = {}
for _, group in ipairs(redis.call("XINFO", "GROUPS", key)) do
  local name, last
  for i = 1, #group, 2 do
    if group[i] == "name" then name = group[i + 1] end
    if group[i] == "last-delivered-id" then last = group[i + 1] end
  end
  live[name] = true
  keep_after(last)
  if not lt(first_id, cut) then return {0, cut} end
  local pending = redis.call("XPENDING", key, name, first_id, "(" .. cut, 1)
  if #pending > 0 then cut = pending[1][1] end
  if not lt(first_id, cut) then return {0, cut} end
end
-- Groups lost with the key are re-created at their recorded position.
local recorded = redis.call("HGETALL", positions)
for i = 1, #recorded, 2 do
  if not live[recorded[i]] then keep_after(recorded[i + 1]) end
  if not lt(first_id, cut) then return {0, cut} end
end
return {redis.call("XTRIM", key, "MINID", "=", cut), cut}
"""


def trim(
    topic: str | TopicInfo, *, dry_run: bool = False, client: redis.Redis | None = None
) -> TrimReport:
    """Trim ``topic`` by its retention policy (or only plan it on a dry run)."""
    plan = plan_trim(topic, client=client)
    if dry_run:
        _log(plan, dry_run=True)
        return TrimReport(plan, True, {})
    return apply_plan(plan, client=client)


def apply_plan(plan: TrimPlan, *, client: redis.Redis | None = None) -> TrimReport:
    """Apply a plan made earlier (e.g. previewed and confirmed in the console).

    Safe however old the plan is: cuts are ids, so events appended since are
    kept, and under block-trim the cut is re-checked atomically against every
    group's position, so a group reset or created since keeps its events.
    """
    client = client or get_redis()
    removed: dict[int, int] = {}
    with redis_errors(f"trim topic '{plan.topic}'"):
        for part in plan.partitions:
            if part.cut is not None and part.removes:
                removed[part.partition] = _apply(client, plan, part)
    _log(plan, dry_run=False)
    return TrimReport(plan, False, removed)


def _apply(client: redis.Redis, plan: TrimPlan, part: PartitionPlan) -> int:
    key = stream_key(plan.topic, part.partition)
    assert part.cut is not None
    if plan.policy == OverflowPolicy.DROP_OLDEST:
        return int(client.xtrim(key, minid=part.cut, approximate=False))
    script = client.register_script(_SAFE_TRIM)
    positions = positions_key(plan.topic, part.partition)
    removed, cut = script(keys=[key, positions], args=[part.cut], client=client)
    if text(cut) != part.cut:
        logger.info(
            "Trim of %s partition %d stopped at %s instead of %s: a group was "
            "reset or created since the plan, so its events were kept.",
            plan.topic,
            part.partition,
            text(cut),
            part.cut,
        )
    return int(removed)


def _log(plan: TrimPlan, dry_run: bool) -> None:
    for part in plan.partitions:
        if part.held_back:
            groups = ", ".join(f"'{i.group}' ({i.events})" for i in part.held_by)
            logger.warning(
                "Retention of topic '%s' partition %d is blocked by group %s: "
                "%d event(s) past retention are kept because the group(s) have "
                "not processed them (unprocessed per group: %s). Scale or fix "
                "the consumer, or reset the group if it is abandoned.",
                plan.topic,
                part.partition,
                " and ".join(f"'{g}'" for g in part.blocking_groups),
                part.held_back,
                groups,
            )
        if part.dropped_unprocessed:
            groups = ", ".join(f"'{i.group}' ({i.events})" for i in part.dropped_by)
            logger.warning(
                "Trim of topic '%s' partition %d %s %d event(s) not yet processed "
                "by group(s) %s (overflow policy drop-oldest).",
                plan.topic,
                part.partition,
                "would drop" if dry_run else "dropped",
                part.dropped_unprocessed,
                groups,
            )


def trim_all(
    dry_run: bool = False, *, client: redis.Redis | None = None
) -> list[TrimReport]:
    """Trim every topic; a topic that fails is logged and the others go on."""
    client = client or get_redis()
    reports = []
    for info in list_topics():
        try:
            reports.append(trim(info, dry_run=dry_run, client=client))
        except redis.ResponseError:
            # One broken key (e.g. WRONGTYPE) must not stop retention elsewhere.
            logger.exception("Could not trim topic '%s'; skipped it.", info.name)
    return reports
