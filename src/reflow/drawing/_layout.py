"""A small layered (Sugiyama-style) layout: nodes in rows top to bottom, edges pointing down.

1. Cycles are broken by reversing the back edges of a depth-first search.
2. Rows come from longest paths; a node with no inputs sits just above its first consumer.
3. Edges spanning several rows get invisible waypoints, one per row crossed.
4. Rows are reordered by barycentres, keeping the order with the fewest crossings.
5. Each node moves towards its neighbours' mean x, never closer than a gap to its row mates.

Edges are returned as point lists from source to target (reversed edges included), ready to
be drawn as curves with vertical tangents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise

H_GAP = 28.0
V_GAP = 56.0
MARGIN = 24.0
_WAYPOINT_WIDTH = 12.0
_ORDER_SWEEPS = 12
_PLACE_SWEEPS = 16
_SELF_LOOP_REACH = 26.0

Point = tuple[float, float]


@dataclass(frozen=True)
class Box:
    """A placed node: centre ``(x, y)`` and size."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Route:
    """Where one edge runs, from the source's border to the target's border."""

    source: str
    target: str
    label: str | None
    points: list[Point]
    self_loop: bool = False


@dataclass
class Layout:
    boxes: dict[str, Box]
    routes: list[Route]
    width: float
    height: float


@dataclass
class _Vertex:
    width: float
    height: float
    row: int = 0
    x: float = 0.0
    y: float = 0.0
    key: str | None = None  # None for a waypoint


@dataclass
class _Chain:
    """An edge as a path of vertex indices in the acyclic graph (downwards)."""

    source: str
    target: str
    label: str | None
    vertices: list[int]
    reversed: bool
    self_loop: bool = False


@dataclass
class _Graph:
    vertices: list[_Vertex] = field(default_factory=list)
    down: dict[int, list[int]] = field(default_factory=dict)
    up: dict[int, list[int]] = field(default_factory=dict)

    def link(self, upper: int, lower: int) -> None:
        self.down.setdefault(upper, []).append(lower)
        self.up.setdefault(lower, []).append(upper)


def layered_layout(
    nodes: Sequence[tuple[str, float, float]], edges: Sequence[tuple[str, str, str | None]]
) -> Layout:
    """Place ``nodes`` (key, width, height) and route ``edges`` (source, target, label)."""
    index = {key: position for position, (key, _, _) in enumerate(nodes)}
    known = [edge for edge in edges if edge[0] in index and edge[1] in index]
    graph = _Graph([_Vertex(width, height, key=key) for key, width, height in nodes])

    flipped = _back_edges(len(nodes), [(index[s], index[t]) for s, t, _ in known])
    rows = _rows(len(nodes), _acyclic_pairs(known, index, flipped))
    chains = _chains(graph, known, index, flipped, rows)
    layers = _order_rows(graph, len(nodes))
    _place(graph, layers)
    routes = _routes(graph, chains)
    extents = [(v.x + v.width / 2, v.y + v.height / 2) for v in graph.vertices]
    extents += [point for route in routes for point in route.points]
    return Layout(
        boxes={
            vertex.key: Box(vertex.x, vertex.y, vertex.width, vertex.height)
            for vertex in graph.vertices
            if vertex.key is not None
        },
        routes=routes,
        width=max((x for x, _ in extents), default=0.0) + MARGIN,
        height=max((y for _, y in extents), default=0.0) + MARGIN,
    )


def _back_edges(count: int, pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Edges closing a cycle in a depth-first search started from the nodes without inputs."""
    successors: dict[int, list[int]] = {}
    has_input = set()
    for source, target in pairs:
        if source != target:
            successors.setdefault(source, []).append(target)
            has_input.add(target)
    roots = [n for n in range(count) if n not in has_input] + list(range(count))
    state: dict[int, int] = {}  # 1 = on the current path, 2 = finished
    back: set[tuple[int, int]] = set()
    for root in roots:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(successors.get(root, [])))]
        while stack:
            node, remaining = stack[-1]
            successor = next(remaining, None)
            if successor is None:
                state[node] = 2
                stack.pop()
            elif state.get(successor) == 1:
                back.add((node, successor))
            elif successor not in state:
                state[successor] = 1
                stack.append((successor, iter(successors.get(successor, []))))
    return back


def _acyclic_pairs(
    edges: list[tuple[str, str, str | None]], index: dict[str, int], flipped: set[tuple[int, int]]
) -> list[tuple[int, int]]:
    pairs = []
    for source, target, _ in edges:
        s, t = index[source], index[target]
        if s != t:
            pairs.append((t, s) if (s, t) in flipped else (s, t))
    return pairs


def _rows(count: int, pairs: list[tuple[int, int]]) -> list[int]:
    """Longest-path rows; sources are then pulled down to just above their nearest consumer."""
    successors: dict[int, list[int]] = {}
    indegree = [0] * count
    for upper, lower in pairs:
        successors.setdefault(upper, []).append(lower)
        indegree[lower] += 1
    row = [0] * count
    ready = [n for n in range(count) if indegree[n] == 0]
    sources = list(ready)
    while ready:
        node = ready.pop(0)
        for successor in successors.get(node, []):
            row[successor] = max(row[successor], row[node] + 1)
            indegree[successor] -= 1
            if indegree[successor] == 0:
                ready.append(successor)
    for source in sources:
        below = [row[s] for s in successors.get(source, [])]
        if below:
            row[source] = min(below) - 1
    return row


def _chains(
    graph: _Graph,
    edges: list[tuple[str, str, str | None]],
    index: dict[str, int],
    flipped: set[tuple[int, int]],
    rows: list[int],
) -> list[_Chain]:
    """One chain per edge, adding a waypoint vertex for every row an edge crosses."""
    for position, row in enumerate(rows):
        graph.vertices[position].row = row
    chains = []
    for source, target, label in edges:
        s, t = index[source], index[target]
        if s == t:
            chains.append(_Chain(source, target, label, [s], False, self_loop=True))
            continue
        reverse = (s, t) in flipped
        upper, lower = (t, s) if reverse else (s, t)
        path = [upper]
        for row in range(rows[upper] + 1, rows[lower]):
            graph.vertices.append(_Vertex(_WAYPOINT_WIDTH, 0.0, row=row))
            path.append(len(graph.vertices) - 1)
        path.append(lower)
        for a, b in pairwise(path):
            graph.link(a, b)
        chains.append(_Chain(source, target, label, path, reverse))
    return chains


def _order_rows(graph: _Graph, real_count: int) -> list[list[int]]:
    """Vertices per row, ordered by barycentre sweeps (fewest crossings kept)."""
    row_count = max((v.row for v in graph.vertices), default=-1) + 1
    layers: list[list[int]] = [[] for _ in range(row_count)]
    for vertex in _discovery_order(graph, real_count):
        layers[graph.vertices[vertex].row].append(vertex)
    best = [list(layer) for layer in layers]
    best_crossings = _crossings(graph, layers)
    for sweep in range(_ORDER_SWEEPS):
        downwards = sweep % 2 == 0
        rows = range(1, row_count) if downwards else range(row_count - 2, -1, -1)
        for row in rows:
            neighbour_row = layers[row - 1] if downwards else layers[row + 1]
            position = {vertex: i for i, vertex in enumerate(neighbour_row)}
            links = graph.up if downwards else graph.down
            layers[row] = _by_barycentre(layers[row], links, position)
        crossings = _crossings(graph, layers)
        if crossings < best_crossings:
            best, best_crossings = [list(layer) for layer in layers], crossings
    return best


def _discovery_order(graph: _Graph, real_count: int) -> list[int]:
    """Depth-first order from the given node order, so rows start in a reading order."""
    seen: set[int] = set()
    order: list[int] = []
    for start in [*range(real_count), *range(real_count, len(graph.vertices))]:
        stack = [start]
        while stack:
            vertex = stack.pop()
            if vertex in seen:
                continue
            seen.add(vertex)
            order.append(vertex)
            stack.extend(reversed(graph.down.get(vertex, [])))
    return order


def _by_barycentre(
    layer: list[int], links: dict[int, list[int]], position: dict[int, int]
) -> list[int]:
    keyed = []
    for current, vertex in enumerate(layer):
        neighbours = [position[n] for n in links.get(vertex, []) if n in position]
        centre = sum(neighbours) / len(neighbours) if neighbours else float(current)
        keyed.append((centre, current, vertex))
    return [vertex for _, _, vertex in sorted(keyed)]


def _crossings(graph: _Graph, layers: list[list[int]]) -> int:
    total = 0
    for upper, lower in pairwise(layers):
        position = {vertex: i for i, vertex in enumerate(lower)}
        segments = [
            (i, position[below])
            for i, vertex in enumerate(upper)
            for below in graph.down.get(vertex, [])
            if below in position
        ]
        for n, (a1, b1) in enumerate(segments):
            for a2, b2 in segments[n + 1 :]:
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


def _place(graph: _Graph, layers: list[list[int]]) -> None:
    """Row heights set y; x moves towards neighbours while keeping row order and gaps."""
    y = MARGIN
    for layer in layers:
        height = max((graph.vertices[v].height for v in layer), default=0.0)
        for vertex_id in layer:
            graph.vertices[vertex_id].y = y + height / 2
        y += height + V_GAP
    for layer in layers:
        x = MARGIN
        for vertex_id in layer:
            graph.vertices[vertex_id].x = x + graph.vertices[vertex_id].width / 2
            x += graph.vertices[vertex_id].width + H_GAP
    for sweep in range(_PLACE_SWEEPS):
        downwards = sweep % 2 == 0
        order = layers if downwards else list(reversed(layers))
        links = graph.up if downwards else graph.down
        for layer in order:
            _pull_towards_neighbours(graph, layer, links)
    left = min((v.x - v.width / 2 for v in graph.vertices), default=MARGIN)
    for placed in graph.vertices:
        placed.x += MARGIN - left


def _pull_towards_neighbours(graph: _Graph, layer: list[int], links: dict[int, list[int]]) -> None:
    """Average of a left-packed and a right-packed placement around the wished positions.

    Both placements keep every gap, so their average does too.
    """
    vertices = [graph.vertices[v] for v in layer]
    wished = []
    for vertex_id, vertex in zip(layer, vertices, strict=True):
        neighbours = [graph.vertices[n].x for n in links.get(vertex_id, [])]
        wished.append(sum(neighbours) / len(neighbours) if neighbours else vertex.x)
    gaps = [(a.width + b.width) / 2 + H_GAP for a, b in pairwise(vertices)]
    left = list(wished)
    for i in range(1, len(left)):
        left[i] = max(left[i], left[i - 1] + gaps[i - 1])
    right = list(wished)
    for i in range(len(right) - 2, -1, -1):
        right[i] = min(right[i], right[i + 1] - gaps[i])
    for vertex, a, b in zip(vertices, left, right, strict=True):
        vertex.x = (a + b) / 2


def _routes(graph: _Graph, chains: list[_Chain]) -> list[Route]:
    ports = _port_offsets(graph, chains)
    routes = []
    for number, chain in enumerate(chains):
        if chain.self_loop:
            routes.append(_self_loop(chain, graph.vertices[chain.vertices[0]]))
            continue
        top = graph.vertices[chain.vertices[0]]
        bottom = graph.vertices[chain.vertices[-1]]
        points: list[Point] = [(top.x + ports[(number, "out")], top.y + top.height / 2)]
        points += [(graph.vertices[v].x, graph.vertices[v].y) for v in chain.vertices[1:-1]]
        points.append((bottom.x + ports[(number, "in")], bottom.y - bottom.height / 2))
        if chain.reversed:
            points.reverse()
        routes.append(Route(chain.source, chain.target, chain.label, points))
    return routes


def _port_offsets(graph: _Graph, chains: list[_Chain]) -> dict[tuple[int, str], float]:
    """Spread the edges leaving (entering) a node along its bottom (top) side, by direction."""
    leaving: dict[int, list[tuple[float, int]]] = {}
    entering: dict[int, list[tuple[float, int]]] = {}
    for number, chain in enumerate(chains):
        if chain.self_loop:
            continue
        path = chain.vertices
        leaving.setdefault(path[0], []).append((graph.vertices[path[1]].x, number))
        entering.setdefault(path[-1], []).append((graph.vertices[path[-2]].x, number))
    offsets: dict[tuple[int, str], float] = {}
    for side, groups in (("out", leaving), ("in", entering)):
        for vertex, group in groups.items():
            group.sort()
            width = graph.vertices[vertex].width
            spacing = min(14.0, width * 0.6 / max(len(group) - 1, 1))
            for rank, (_, number) in enumerate(group):
                offsets[(number, side)] = (rank - (len(group) - 1) / 2) * spacing
    return offsets


def _self_loop(chain: _Chain, vertex: _Vertex) -> Route:
    right = vertex.x + vertex.width / 2
    reach = right + _SELF_LOOP_REACH
    points: list[Point] = [
        (right, vertex.y - vertex.height / 4),
        (reach, vertex.y - vertex.height / 2),
        (reach, vertex.y + vertex.height / 2),
        (right, vertex.y + vertex.height / 4),
    ]
    return Route(chain.source, chain.target, chain.label, points, self_loop=True)
