"""Key -> partition by a stable hash (the same in every process and release)."""

from __future__ import annotations

import hashlib
import itertools

_round_robin = itertools.count()


def partition_for(key: str | None, partitions: int) -> int:
    """Return the partition for ``key``; keyless events are spread round-robin.

    blake2b, not ``hash()``: Python salts ``hash()`` per process, and the same
    key must land on the same partition from every producer. Growing a topic
    remaps keys (as in Kafka); per-key order holds within one partition count.
    """
    if partitions == 1:
        return 0
    if key is None:
        return next(_round_robin) % partitions
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % partitions
