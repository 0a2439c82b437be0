"""The node graph of a loaded flow: successors per branch key, parents, loops and bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reflow.flows._format import FlowSpec, NodeSpec
from reflow.flows._nodes import Node

__all__ = ["FlowGraph"]


@dataclass
class FlowGraph:
    """Successor lists keep edge order (the seed's order: JSON order)."""

    nodes: dict[str, NodeSpec]
    classes: dict[str, type[Node[Any]]]
    successors: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    @classmethod
    def build(cls, spec: FlowSpec, classes: dict[str, type[Node[Any]]]) -> FlowGraph:
        graph = cls({n.id: n for n in spec.nodes}, classes)
        for node_id in graph.nodes:
            graph.successors[node_id] = {}
        for edge in spec.edges:
            if edge.source in graph.nodes and edge.target in graph.nodes:
                targets = graph.successors[edge.source].setdefault(edge.branch, [])
                if edge.target not in targets:
                    targets.append(edge.target)
        return graph

    def kind(self, node_id: str) -> str:
        return self.classes[node_id].kind

    def next(self, node_id: str, branch: str = "default") -> list[str]:
        return self.successors[node_id].get(branch, [])

    def all_next(self, node_id: str) -> list[str]:
        return [t for targets in self.successors[node_id].values() for t in targets]

    def parents(self, node_id: str) -> list[str]:
        return [s for s in self.nodes if node_id in self.all_next(s)]

    def producers(self) -> list[str]:
        return [n for n in self.nodes if self.kind(n) == "producer"]

    def loop_nodes(self, entries: list[str], stop_at: str | None = None) -> list[str]:
        """Nodes one iteration may reach from ``entries``, in graph order.

        The walk does not pass a non-blocking node (its successors run in another loop), does
        not enter a loop node's ``subdag`` (the body runs inside the loop node), and stops at
        ``stop_at`` (a loop body ends where it leads back to its loop node).
        """
        seen: set[str] = set()
        stack = list(entries)
        while stack:
            node_id = stack.pop()
            if node_id in seen or node_id == stop_at:
                continue
            seen.add(node_id)
            if self.kind(node_id) == "non-blocking":
                continue
            for branch, targets in self.successors[node_id].items():
                if branch == "subdag":
                    continue
                stack.extend(t for t in targets if self.kind(t) != "producer")
        return [n for n in self.nodes if n in seen]

    def in_loop_next(self, node_id: str, members: set[str], branch: str) -> list[str]:
        if self.kind(node_id) == "non-blocking":
            return []
        return [t for t in self.next(node_id, branch) if t in members]

    def in_loop_parents(self, node_id: str, members: set[str]) -> list[str]:
        parents = []
        for source in members:
            if self.kind(source) == "non-blocking":
                continue
            for branch, targets in self.successors[source].items():
                if branch != "subdag" and node_id in targets:
                    parents.append(source)
                    break
        return [n for n in self.nodes if n in parents]

    def body_of(self, loop_id: str) -> list[str]:
        """The nodes of a loop node's ``subdag`` body."""
        return self.loop_nodes(self.next(loop_id, "subdag"), stop_at=loop_id)

    def find_cycle(self) -> list[str] | None:
        """A cycle that no loop node owns (a body edge back to its loop node is allowed)."""
        white, grey, black = 0, 1, 2
        color = dict.fromkeys(self.nodes, white)
        owner_back_edges = {
            (source, loop_id)
            for loop_id in self.nodes
            if self.kind(loop_id) == "loop"
            for source in self.body_of(loop_id)
            if loop_id in self.all_next(source)
        }
        path: list[str] = []

        def visit(node_id: str) -> list[str] | None:
            color[node_id] = grey
            path.append(node_id)
            for target in self.all_next(node_id):
                if (node_id, target) in owner_back_edges:
                    continue
                if color[target] == grey:
                    return [*path[path.index(target) :], target]
                if color[target] == white:
                    found = visit(target)
                    if found:
                        return found
            path.pop()
            color[node_id] = black
            return None

        for node_id in self.nodes:
            if color[node_id] == white:
                found = visit(node_id)
                if found:
                    return found
        return None
