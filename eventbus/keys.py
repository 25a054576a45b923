"""Redis key names. One stream per partition, hash-tagged per partition.

``sy:{orders.3}`` is the log of partition 3 of ``orders``; every key that
belongs to that partition shares the ``{orders.3}`` tag so a Redis Cluster
keeps them in one slot (see DESIGN.md, Redis layout).
"""

from __future__ import annotations


def stream_key(topic: str, partition: int) -> str:
    """Return the stream key holding one partition's log."""
    return f"sy:{{{topic}.{partition}}}"


def positions_key(topic: str, partition: int) -> str:
    """Return the hash that records each group's last position on a partition.

    It outlives the stream key, so a group lost with its key (``NOGROUP``)
    can be re-created where it was.
    """
    return f"sy:{{{topic}.{partition}}}:positions"


def dead_letter_key(topic: str, group: str) -> str:
    """Return the dead-letter stream of one group on one topic."""
    return f"sy:{{{topic}}}:dlq:{group}"


def parse_stream_key(key: str | bytes) -> tuple[str, int]:
    """Return ``(topic, partition)`` for a stream key made by ``stream_key``."""
    text = key.decode() if isinstance(key, bytes) else key
    inner = text[text.index("{") + 1 : text.index("}")]
    topic, _, partition = inner.rpartition(".")
    return topic, int(partition)


def outbox_lease_key(alias: str) -> str:
    """Return the lease key that lets one outbox relay per database alias work.

    Not a partition key, so it has no ``{topic.p}`` tag; it does not start with
    ``sy:{`` and so never parses as a stream key.
    """
    return f"sy:outbox-lease:{alias}"


def redrive_key(topic: str, group: str) -> str:
    """Return the stream that carries redriven dead letters back to one group."""
    return f"sy:{{{topic}}}:redrive:{group}"


def until_key(topic: str, group: str) -> str:
    """Return the key holding a group's end bound on a topic (ms since the epoch).

    One small key per topic and group, tagged ``{topic}`` like the group's
    dead-letter and redrive streams: the bound applies to every partition,
    and the consumer reads it once per heartbeat on its own, never inside a
    multi-key command with a partition's keys, so no slot has to match.
    """
    return f"sy:{{{topic}}}:until:{group}"


def create_claim_key(topic: str, group: str) -> str:
    """Return the lease ``create_group`` holds while it creates a group.

    Tagged ``{topic}`` like the bound it protects: two creators of the same
    group must not interleave, or the loser's undo would delete the winner's
    end bound.
    """
    return f"sy:{{{topic}}}:creating:{group}"


def lease_key(source_key: str, group: str) -> str:
    """Return the key of one group's lease on one source (partition or redrive).

    Built from the source's own stream key so it shares its hash tag.
    """
    return f"{source_key}:lease:{group}"


def attempts_key(source_key: str, group: str) -> str:
    """Return the hash of failed-attempt counts per stream id, for retries."""
    return f"{source_key}:attempts:{group}"


def stats_key(source_key: str, group: str) -> str:
    """Return the hash of one group's processing counters on one source."""
    return f"{source_key}:stats:{group}"


def members_key(group: str) -> str:
    """Return the sorted set of a group's live members (score: expiry in ms)."""
    return f"sy:group:{group}:members"


def member_key(group: str, member: str) -> str:
    """Return the key holding one member's status (JSON, expires with it)."""
    return f"sy:group:{group}:member:{member}"
