"""Removing nodes from an edge list while keeping the connections that ran through them."""

from __future__ import annotations

from collections.abc import Sequence

Edge = tuple[str, str, str | None]


def remove_node_types(edges: Sequence[Edge], removed: set[str]) -> list[Edge]:
    """``edges`` without those touching ``removed``, plus bridges across removed nodes.

    Edges between kept nodes stay as they are, in their order. An edge from a kept node into a
    removed one is replaced by one edge to each kept node reachable from there through removed
    nodes only, labelled with that first removed node's id. A bridge is only added when its
    two ends are not already connected. (The peer returns these edges in hash order; here the
    order follows the original edges, so the result is deterministic.)
    """
    outgoing: dict[str, list[str]] = {}
    for source, target, _ in edges:
        outgoing.setdefault(source, []).append(target)

    connected = {(s, t) for s, t, _ in edges if s not in removed and t not in removed}
    result: list[Edge] = []
    for source, target, label in edges:
        if source in removed:
            continue
        if target not in removed:
            result.append((source, target, label))
            continue
        for reached in _kept_reachable_through(target, outgoing, removed):
            if (source, reached) not in connected:
                connected.add((source, reached))
                result.append((source, reached, target))
    return result


def _kept_reachable_through(
    start: str, outgoing: dict[str, list[str]], removed: set[str]
) -> list[str]:
    """Kept nodes reachable from removed node ``start`` along paths of removed nodes."""
    reached: list[str] = []
    seen: set[str] = set()
    stack = [start]
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node not in removed:
            reached.append(node)
            continue
        # Reversed so successors are visited in their edge order (depth-first).
        stack.extend(reversed(outgoing.get(node, [])))
    return reached
