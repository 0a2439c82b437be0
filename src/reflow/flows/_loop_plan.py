"""``LoopPlan``: what compiling one loop decided, shared by the steps built from it.

The loop's members, each node's input slots (one event class per parent), the targets of each
node, and the observers: ``run_node`` runs one node's work and tells them it started, failed
or completed, the same way for the producer and every other node.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from reflow.flows._compiled import CompiledLoop
from reflow.flows._events import NodeInput, Observer, notify
from reflow.flows._execution import BoundNode, NodeFailure
from reflow.flows._graph import FlowGraph
from reflow.flows._nodes import Payload, Pool

T = TypeVar("T")


@dataclass
class LoopPlan:
    graph: FlowGraph
    bound: dict[str, BoundNode]
    members: list[str]
    inputs: dict[str, list[tuple[str, type[NodeInput]]]]  # node -> [(parent, event class)]
    observers: list[Observer]
    compile_body: Callable[[str], CompiledLoop]
    fork_pools: dict[str, Pool] = field(default_factory=dict)
    """Nodes on a fork's branches run in ``settings.fork_execution_pool`` when it is set."""

    def targets(self, node_id: str) -> dict[str, list[str]]:
        member_set = set(self.members)
        graph = self.graph
        if graph.kind(node_id) == "conditional":
            return {b: graph.in_loop_next(node_id, member_set, b) for b in ("yes", "no")}
        return {"default": graph.in_loop_next(node_id, member_set, "default")}

    def event_class(self, target: str, source: str) -> type[NodeInput]:
        slots = self.inputs[target]
        if len(slots) == 1:
            return slots[0][1]
        for parent, cls in slots:
            if parent == source:
                return cls
        raise KeyError((target, source))

    def emit(self, kind: str, fields: dict[str, Any]) -> None:
        notify(self.observers, kind, fields)

    async def run_node(
        self, node_id: str, payload: Payload, work: Callable[[], Awaitable[T]]
    ) -> tuple[T, float]:
        """``work()``'s result and when it started (for ``completed``); what it raises is
        wrapped in a ``NodeFailure`` naming the node and its input."""
        type_id = self.bound[node_id].type_id
        started = 0.0
        if self.observers:
            started = time.perf_counter()
            self.emit("node_started", {"node_id": node_id, "node_type": type_id})
        try:
            return await work(), started
        except Exception as exc:
            if self.observers:
                self.emit(
                    "node_failed", {"node_id": node_id, "node_type": type_id, "error": str(exc)}
                )
            raise NodeFailure(node_id, type_id, payload, exc) from exc

    def completed(self, node_id: str, started: float, route: str | None, **extra: Any) -> None:
        if self.observers:
            fields: dict[str, Any] = {"node_id": node_id, "node_type": self.bound[node_id].type_id}
            fields.update(route=route, duration=time.perf_counter() - started, **extra)
            self.emit("node_completed", fields)


def fork_branch_nodes(plan: LoopPlan) -> list[str]:
    """The nodes on the branches of a fork: from each target of a node with several, on
    through single-parent nodes, up to (not including) the join where branches meet."""
    found: list[str] = []
    for node_id in plan.members:
        targets = [t for group in plan.targets(node_id).values() for t in group]
        if len(targets) < 2 or plan.graph.kind(node_id) == "conditional":
            continue
        for target in targets:
            current: str | None = target
            while current is not None and len(plan.inputs[current]) == 1:
                found.append(current)
                following = [t for group in plan.targets(current).values() for t in group]
                current = following[0] if len(following) == 1 else None
    return found
