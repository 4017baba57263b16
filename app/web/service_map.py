"""The service map: services and the calls between them, from the pattern graph.

A pattern's parents are the patterns whose spans are its spans' parents (or, for a message
consumer, its producers); an edge from a pattern of one service to a pattern of another is
a call between the two services, counted as many times as the graph counted it. Calls that
leave the traced world (a database, a cache, an outside API, a broker nobody consumes
from) end at a node named after what the pattern's operation was read from: the database
or messaging system, or the host called.

The error rate of a call between services is that of the spans called (each called
pattern's error rate, weighted by its calls from the caller); of a call to the outside, that
of the client spans making it. Pure: heads in, nodes, edges and a layered layout out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from app.discovery.heads import PatternHead

NODE_WIDTH = 178
NODE_HEIGHT = 46
COLUMN_GAP = 96
ROW_GAP = 22
MARGIN = 16
MAX_DRAWN_SERVICES = 40
MAX_LISTED_CALLS = 300
"""The busiest calls in the table; with thousands of services the rest say little."""
_ENTRY_KINDS = ("server", "consumer")
_CALLING_KINDS = ("client", "producer")


@dataclass
class ServiceNode:
    name: str
    external: bool = False
    patterns: int = 0
    spans: int = 0
    entry_spans: int = 0
    """Spans that serve a request or consume a message: the service's own workload."""
    entry_errors: int = 0
    x: float = 0.0
    y: float = 0.0
    layer: int = 0

    @property
    def error_rate(self) -> float:
        return self.entry_errors / self.entry_spans if self.entry_spans else 0.0


@dataclass
class ServiceEdge:
    source: str
    target: str
    calls: int = 0
    errors: float = 0.0
    patterns: set[str] = field(default_factory=set)
    """Names of the calling patterns, for the table."""
    path: str = ""
    label_x: float = 0.0
    label_y: float = 0.0

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0

    @property
    def external(self) -> bool:
        return self.target.startswith("ext:")

    @property
    def target_name(self) -> str:
        return self.target.removeprefix("ext:")

    @property
    def stroke_width(self) -> float:
        """Wider for busier calls, on a log scale: 1 px for one call, 5 px for 100,000."""
        return round(1 + math.log10(max(self.calls, 1)) * 0.8, 1)


@dataclass
class ServiceMap:
    nodes: list[ServiceNode]
    edges: list[ServiceEdge]
    width: float
    height: float
    drawn: list[ServiceNode]
    """The nodes in the drawing: the busiest services when there are too many to draw."""
    drawn_edges: list[ServiceEdge]

    @property
    def listed_edges(self) -> list[ServiceEdge]:
        return self.edges[:MAX_LISTED_CALLS]


def external_name(head: PatternHead) -> str:
    """What a call that leaves the traced services reaches, from the operation's hints."""
    hints = head.hints
    if head.family in ("database", "cache", "messaging"):
        return hints.get("system") or head.family
    return hints.get("peer") or hints.get("system") or f"{head.family} (outside)"


def service_map(heads: Sequence[PatternHead]) -> ServiceMap:
    by_id = {h.id: h for h in heads}
    live = [h for h in heads if h.live]
    nodes: dict[str, ServiceNode] = {}
    edges: dict[tuple[str, str], ServiceEdge] = {}

    def node(name: str, external: bool = False) -> ServiceNode:
        key = f"ext:{name}" if external else name
        if key not in nodes:
            nodes[key] = ServiceNode(name, external)
        return nodes[key]

    def edge(source: str, target: str) -> ServiceEdge:
        key = (source, target)
        if key not in edges:
            edges[key] = ServiceEdge(source, target)
        return edges[key]

    for head in live:
        service = node(head.service)
        service.patterns += 1
        service.spans += head.count
        if head.span_kind in _ENTRY_KINDS:
            service.entry_spans += head.count
            service.entry_errors += head.error_count
    for head in live:
        for parent_id, calls in head.parents.items():
            parent = by_id.get(parent_id)
            if parent is None or not parent.live or parent.service == head.service:
                continue
            called = edge(parent.service, head.service)
            called.calls += calls
            called.errors += calls * head.error_rate
            called.patterns.add(parent.name)
        if head.span_kind in _CALLING_KINDS and not any(
            child in by_id and by_id[child].live and by_id[child].service != head.service
            for child in head.children
        ):
            outside = node(external_name(head), external=True)
            outside.spans += head.count
            outside.entry_spans += head.count
            outside.entry_errors += head.error_count
            reached = edge(head.service, f"ext:{outside.name}")
            reached.calls += head.count
            reached.errors += head.error_count
            reached.patterns.add(head.name)
    ordered_nodes = sorted(nodes.values(), key=lambda n: (n.external, -n.spans, n.name))
    ordered_edges = sorted(edges.values(), key=lambda e: -e.calls)
    drawn = _drawn(ordered_nodes, ordered_edges)
    keys = {_key(n) for n in drawn}
    drawn_edges = [e for e in ordered_edges if e.source in keys and e.target in keys]
    width, height = _layout(drawn, drawn_edges)
    return ServiceMap(ordered_nodes, ordered_edges, width, height, drawn, drawn_edges)


def _key(node: ServiceNode) -> str:
    return f"ext:{node.name}" if node.external else node.name


def _drawn(nodes: list[ServiceNode], edges: list[ServiceEdge]) -> list[ServiceNode]:
    """All services when they fit; else the busiest with the services they call and are
    called by, busiest first, so that what is drawn stays connected."""
    services = [n for n in nodes if not n.external]
    if len(services) > MAX_DRAWN_SERVICES:
        neighbours: dict[str, set[str]] = {}
        for e in edges:
            if not e.external:
                neighbours.setdefault(e.source, set()).add(e.target)
                neighbours.setdefault(e.target, set()).add(e.source)
        rank = {n.name: i for i, n in enumerate(services)}
        kept: dict[str, None] = {}
        for service in services:
            for name in [
                service.name,
                *sorted(neighbours.get(service.name, ()), key=rank.__getitem__),
            ]:
                if len(kept) < MAX_DRAWN_SERVICES:
                    kept.setdefault(name)
            if len(kept) >= MAX_DRAWN_SERVICES:
                break
        services = [n for n in services if n.name in kept]
    names = {n.name for n in services}
    reached = {e.target for e in edges if e.source in names and e.external}
    return services + [n for n in nodes if n.external and _key(n) in reached]


def _layout(nodes: list[ServiceNode], edges: list[ServiceEdge]) -> tuple[float, float]:
    """Columns by the longest chain of calls leading to each service (callers left of
    callees; outside systems in the last column), rows ordered by their callers' rows."""
    by_key = {_key(n): n for n in nodes}
    callers: dict[str, list[str]] = {key: [] for key in by_key}
    for e in edges:
        if e.source != e.target:
            callers[e.target].append(e.source)
    layer: dict[str, int] = {}

    def depth(key: str, visiting: set[str]) -> int:
        if key in layer:
            return layer[key]
        visiting.add(key)
        found = 0
        for caller in callers[key]:
            if caller not in visiting:  # a cycle: the call back does not push further right
                found = max(found, depth(caller, visiting) + 1)
        visiting.discard(key)
        layer[key] = found
        return found

    for key, n in by_key.items():
        if not n.external:
            depth(key, set())
    last = max((layer[_key(n)] for n in nodes if not n.external), default=-1) + 1
    for n in nodes:
        n.layer = last if n.external else layer[_key(n)]
    columns: dict[int, list[ServiceNode]] = {}
    for n in nodes:
        columns.setdefault(n.layer, []).append(n)
    row_of: dict[str, float] = {}
    for column in sorted(columns):
        members = columns[column]
        members.sort(key=lambda n: (_mean(row_of.get(c, 0.0) for c in callers[_key(n)]), -n.spans))
        for row, n in enumerate(members):
            row_of[_key(n)] = row
            n.x = MARGIN + column * (NODE_WIDTH + COLUMN_GAP)
            n.y = MARGIN + row * (NODE_HEIGHT + ROW_GAP)
    for e in edges:
        _route(e, by_key[e.source], by_key[e.target])
    width = MARGIN * 2 + (last + 1) * (NODE_WIDTH + COLUMN_GAP) - COLUMN_GAP
    rows = max((len(c) for c in columns.values()), default=0)
    height = MARGIN * 2 + rows * (NODE_HEIGHT + ROW_GAP) - ROW_GAP + ROW_GAP  # room for loops
    return max(width, 200), max(height, 80)


def _route(e: ServiceEdge, source: ServiceNode, target: ServiceNode) -> None:
    """A curve from the caller's right side to the callee's left side; a call to the left
    (a cycle) loops below the two."""
    x1, y1 = source.x + NODE_WIDTH, source.y + NODE_HEIGHT / 2
    x2, y2 = target.x, target.y + NODE_HEIGHT / 2
    if x2 > x1:
        bend = (x2 - x1) / 2
        e.path = (
            f"M{x1:.1f},{y1:.1f} C{x1 + bend:.1f},{y1:.1f} "
            f"{x2 - bend:.1f},{y2:.1f} {x2:.1f},{y2:.1f}"
        )
        e.label_x, e.label_y = (x1 + x2) / 2, (y1 + y2) / 2 - 4
    else:
        low = max(source.y, target.y) + NODE_HEIGHT + ROW_GAP / 2 + 6
        x1, y1 = source.x + NODE_WIDTH / 2, source.y + NODE_HEIGHT
        x2, y2 = target.x + NODE_WIDTH / 2, target.y + NODE_HEIGHT
        e.path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{low:.1f} {x2:.1f},{low:.1f} {x2:.1f},{y2:.1f}"
        e.label_x, e.label_y = (x1 + x2) / 2, low - 2


def _mean(values: Iterable[float]) -> float:
    found = list(values)
    return sum(found) / len(found) if found else 0.0
