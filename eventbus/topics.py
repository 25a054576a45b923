"""Topics: declared in code by services, stored in the database, cached per process."""

from __future__ import annotations

import difflib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import DatabaseError, connections

from eventbus.client import get_redis, redis_errors
from eventbus.conf import bus_settings
from eventbus.exceptions import InvalidTopicName, PartitionShrink, UnknownTopic
from eventbus.keys import stream_key
from eventbus.models import (
    MAX_PARTITIONS,
    TOPIC_NAME_RE,
    ConsumerGroup,
    OverflowPolicy,
    Topic,
)
from eventbus.streams import text

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TopicInfo:
    """What the bus needs to know about a topic at run time."""

    name: str
    partitions: int
    retention_ms: int | None = None
    retention_max_len: int | None = None
    overflow_policy: str = OverflowPolicy.BLOCK_TRIM
    description: str = ""
    owner: str = ""

    @property
    def partition_ids(self) -> range:
        return range(self.partitions)


@dataclass
class _Declarations:
    topics: dict[str, TopicInfo] = field(default_factory=dict)


_declared = _Declarations()


def validate_topic_name(name: str) -> str:
    """Return ``name`` if it is a valid topic name, else raise ``InvalidTopicName``."""
    if not isinstance(name, str) or not TOPIC_NAME_RE.match(name) or len(name) > 100:
        raise InvalidTopicName(
            f"{name!r} is not a valid topic name. Use 1-100 lower-case letters, "
            "digits, '.', '_' or '-', starting with a letter or digit "
            "(e.g. 'orders')."
        )
    return name


def declare_topic(
    name: str,
    *,
    partitions: int = 4,
    retention_ms: int | None = None,
    retention_max_len: int | None = None,
    overflow_policy: str = OverflowPolicy.BLOCK_TRIM,
    description: str = "",
    owner: str = "",
) -> TopicInfo:
    """Declare a topic in code; ``manage.py bus sync`` creates it idempotently."""
    validate_topic_name(name)
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise InvalidTopicName(
            f"Topic '{name}' declares {partitions} partitions; use 1 to "
            f"{MAX_PARTITIONS}."
        )
    if overflow_policy not in OverflowPolicy.values:
        raise InvalidTopicName(
            f"Topic '{name}' declares overflow policy {overflow_policy!r}; use "
            f"one of {', '.join(OverflowPolicy.values)}."
        )
    info = TopicInfo(
        name=name,
        partitions=partitions,
        retention_ms=retention_ms,
        retention_max_len=retention_max_len,
        overflow_policy=overflow_policy,
        description=description,
        owner=owner,
    )
    _declared.topics[name] = info
    return info


def declared_topics() -> dict[str, TopicInfo]:
    """Return the topics declared in code, by name."""
    return dict(_declared.topics)


@dataclass(frozen=True)
class SyncResult:
    created: list[str]
    grown: list[tuple[str, int, int]]
    unchanged: list[str]
    kept_larger: list[tuple[str, int, int]]


def sync_topics(declared: dict[str, TopicInfo] | None = None) -> SyncResult:
    """Create declared topics that are missing and grow partitions; never shrink.

    Retention and descriptions of existing topics are left as operators set
    them in admin: the database is the control plane once a topic exists.
    """
    declared = declared_topics() if declared is None else declared
    created: list[str] = []
    grown: list[tuple[str, int, int]] = []
    unchanged: list[str] = []
    kept: list[tuple[str, int, int]] = []
    for name, info in sorted(declared.items()):
        topic = Topic.objects.filter(name=name).first()
        if topic is None:
            Topic.objects.create(
                name=name,
                partitions=info.partitions,
                retention_ms=info.retention_ms,
                retention_max_len=info.retention_max_len,
                overflow_policy=info.overflow_policy,
                description=info.description,
                owner=info.owner,
            )
            created.append(name)
        elif info.partitions > topic.partitions:
            grown.append((name, topic.partitions, info.partitions))
            topic.partitions = info.partitions
            topic.save(update_fields=["partitions", "updated_at"])
        elif info.partitions < topic.partitions:
            kept.append((name, topic.partitions, info.partitions))
        else:
            unchanged.append(name)
    return SyncResult(created, grown, unchanged, kept)


def set_partitions(name: str, partitions: int) -> TopicInfo:
    """Grow a topic to ``partitions``; raise ``PartitionShrink`` on a decrease."""
    topic = _get_row(name)
    if partitions < topic.partitions:
        raise PartitionShrink(
            f"Topic '{name}' has {topic.partitions} partitions; partitions can "
            f"grow but never shrink, so {partitions} is refused."
        )
    if partitions > MAX_PARTITIONS:
        raise InvalidTopicName(f"Use at most {MAX_PARTITIONS} partitions.")
    topic.partitions = partitions
    topic.save(update_fields=["partitions", "updated_at"])
    return _info(topic)


class _TopicCache:
    """Topic table cached per process; publish must not hit the database."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._topics: dict[str, TopicInfo] = {}
        self._loaded_at = float("-inf")

    def get(self, name: str) -> TopicInfo | None:
        ttl = bus_settings().topic_cache_seconds
        now = time.monotonic()
        if now - self._loaded_at > ttl or (
            name not in self._topics and now - self._loaded_at > 0.5
        ):
            self.load()
        return self._topics.get(name)

    def load(self) -> None:
        topics = {row.name: _info(row) for row in Topic.objects.all()}
        with self._lock:
            self._topics = topics
            self._loaded_at = time.monotonic()

    def names(self) -> list[str]:
        return sorted(self._topics)

    def clear(self) -> None:
        with self._lock:
            self._topics = {}
            self._loaded_at = float("-inf")


_cache = _TopicCache()


def invalidate_topic_cache() -> None:
    """Forget the cached topic table; the next lookup reads the database."""
    _cache.clear()


class NewPartitions:
    """Tell a long-lived reader thread which partitions its topic has gained.

    ``poll`` re-reads the topic (through the per-process cache, so the table
    is read at most once per ``TOPIC_CACHE_SECONDS``) and returns the
    partitions ``select`` picks that the reader does not follow yet. A reader
    should read them from their first entry: they are new, so nothing in them
    was read before. A missing topic or a failing database yields nothing.
    """

    def __init__(
        self,
        name: str,
        known: Iterable[int],
        select: Callable[[TopicInfo], Iterable[int]] = lambda info: info.partition_ids,
    ) -> None:
        self.name = name
        self.known = set(known)
        self.select = select
        self.check_at = time.monotonic() + bus_settings().topic_cache_seconds

    def poll(self) -> list[int]:
        """Return the partitions added since the last poll (usually none)."""
        now = time.monotonic()
        if now < self.check_at:
            return []
        self.check_at = now + bus_settings().topic_cache_seconds
        try:
            info = get_topic(self.name)
        except (UnknownTopic, DatabaseError) as exc:
            logger.debug("Topic %s not re-read: %s", self.name, exc)
            return []
        finally:
            connections.close_all()  # the calling thread's connections only
        added = sorted(set(self.select(info)) - self.known)
        if added:
            self.known.update(added)
            logger.info(
                "A reader of %s follows its new partition(s) %s too.",
                self.name,
                ", ".join(map(str, added)),
            )
        return added


def get_topic(name: str) -> TopicInfo:
    """Return a topic by name, or raise ``UnknownTopic`` with a suggestion."""
    info = _cache.get(name)
    if info is None:
        validate_topic_name(name)
        raise UnknownTopic(_unknown_message(name, _cache.names()))
    return info


def list_topics() -> list[TopicInfo]:
    """Return every topic, from the database."""
    return [_info(row) for row in Topic.objects.all()]


def _get_row(name: str) -> Topic:
    topic = Topic.objects.filter(name=name).first()
    if topic is None:
        raise UnknownTopic(
            _unknown_message(name, list(Topic.objects.values_list("name", flat=True)))
        )
    return topic


def _unknown_message(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    return (
        f"No such topic: '{name}'.{hint} Create it in Django admin or declare it "
        "with eventbus.declare_topic() and run 'manage.py bus sync'."
    )


def _info(row: Topic) -> TopicInfo:
    return TopicInfo(
        name=row.name,
        partitions=row.partitions,
        retention_ms=row.retention_ms,
        retention_max_len=row.retention_max_len,
        overflow_policy=row.overflow_policy,
        description=row.description,
        owner=row.owner,
    )


def drop_topic_data(name: str, partitions: int) -> int:
    """Delete every Redis key of topic ``name``; return how many were deleted.

    That is each partition's log and the keys tagged with it (positions,
    leases, stats, redrive streams), and the topic-level keys (dead letters,
    group end bounds). Deleting a topic row without this would leave its
    events to reappear in a topic later created with the same name.
    """
    client = get_redis()
    with redis_errors(f"delete the data of topic '{name}'"):
        keys = set()
        prefixes = [stream_key(name, p) for p in range(partitions)]
        keys.update(prefixes)
        for prefix in [*prefixes, f"sy:{{{name}}}"]:
            pattern = _glob_escape(prefix) + ":*"
            keys.update(text(k) for k in client.scan_iter(match=pattern, count=1000))
        deleted = 0
        ordered = sorted(keys)
        for start in range(0, len(ordered), 500):
            deleted += int(client.unlink(*ordered[start : start + 500]))
    ConsumerGroup.objects.filter(topic=name).delete()
    return deleted


def _glob_escape(text: str) -> str:
    """Escape the characters SCAN MATCH treats as wildcards."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
