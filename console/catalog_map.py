"""The event catalog: every event type, who produces it, who consumes it.

Types and schemas come from the registry the services fill from their
``events.py`` (producer recorded at registration; stored ``EventSchema`` rows
fill in a blank one); consumers from the ``@subscribe`` registrations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from eventbus import event_types
from eventbus.consumer.subscriptions import subscriptions
from eventbus.exceptions import SchemaCompatibilityError
from eventbus.models import EventSchema
from eventbus.schemas import EventType, check_backward_compatible


@dataclass
class Version:
    number: int
    schema_json: str  # pretty-printed
    compatibility: str
    compatible: bool


@dataclass
class Consumer:
    group: str
    handler: str


@dataclass
class CatalogEntry:
    """One event type with all its versions, producer and consumers."""

    type: str
    topic: str
    producer: str
    description: str
    versions: list[Version] = field(default_factory=list)
    consumers: list[Consumer] = field(default_factory=list)

    @property
    def groups(self) -> list[str]:
        return sorted({c.group for c in self.consumers})


def _producer(versions: list[EventType], stored: dict[str, str]) -> str:
    for version in reversed(versions):
        if version.producer:
            return version.producer
    # Registered without producer=: the module path of the registering
    # code is not kept, so the synced row is the only other witness.
    return stored.get(versions[0].type, "")


def catalog_entries() -> list[CatalogEntry]:
    """Return every registered event type, sorted by topic then type."""
    by_type: dict[str, list[EventType]] = {}
    for event_type in event_types(include_stored=True):
        by_type.setdefault(event_type.type, []).append(event_type)
    stored = dict(
        EventSchema.objects.exclude(producer="").values_list("type", "producer")
    )
    subs = subscriptions()
    entries = []
    for name, versions in by_type.items():
        versions.sort(key=lambda v: v.version)
        latest = versions[-1]
        entry = CatalogEntry(
            type=name,
            topic=latest.topic,
            producer=_producer(versions, stored),
            description=latest.description,
        )
        previous: EventType | None = None
        for version in versions:
            entry.versions.append(_version(previous, version))
            previous = version
        entry.consumers = sorted(
            (
                Consumer(sub.group, sub.name)
                for sub in subs
                if sub.topic == latest.topic and sub.matches(name)
            ),
            key=lambda c: (c.group, c.handler),
        )
        entries.append(entry)
    return sorted(entries, key=lambda e: (e.topic, e.type))


def _version(previous: EventType | None, version: EventType) -> Version:
    pretty = json.dumps(version.schema, indent=2, sort_keys=True)
    if previous is None:
        return Version(version.version, pretty, "first version", True)
    try:
        check_backward_compatible(previous, version)
    except SchemaCompatibilityError as exc:
        return Version(version.version, pretty, str(exc), False)
    return Version(
        version.version, pretty, f"backward compatible with v{previous.version}", True
    )


@dataclass
class Node:
    label: str
    x: int
    y: int
    kind: str  # producer, type, group


@dataclass
class Edge:
    x1: int
    y1: int
    x2: int
    y2: int


@dataclass
class MapLayout:
    width: int
    height: int
    nodes: list[Node]
    edges: list[Edge]


ROW = 26
COLUMNS = {"producer": 90, "type": 380, "group": 670}


def map_layout(entries: list[CatalogEntry]) -> MapLayout:
    """Lay out producer → type → consumer group as three columns for an SVG."""
    types = [e.type for e in entries]
    producers = sorted({e.producer or "(unknown)" for e in entries})
    groups = sorted({g for e in entries for g in e.groups})
    rows = max(len(types), len(producers), len(groups), 1)
    height = rows * ROW + 20

    def column(labels: list[str], kind: str) -> dict[str, Node]:
        # Spread a shorter column over the height so lines do not bunch up.
        step = (height - 20) / max(len(labels), 1)
        return {
            label: Node(label, COLUMNS[kind], int(10 + step * (i + 0.5)), kind)
            for i, label in enumerate(labels)
        }

    p_nodes, t_nodes, g_nodes = (
        column(producers, "producer"),
        column(types, "type"),
        column(groups, "group"),
    )
    edges = []
    for entry in entries:
        t = t_nodes[entry.type]
        p = p_nodes[entry.producer or "(unknown)"]
        edges.append(Edge(p.x + 70, p.y, t.x - 110, t.y))
        for group in entry.groups:
            g = g_nodes[group]
            edges.append(Edge(t.x + 110, t.y, g.x - 70, g.y))
    nodes = [*p_nodes.values(), *t_nodes.values(), *g_nodes.values()]
    return MapLayout(760, height, nodes, edges)
