"""Compiling one loop of a flow into a reflow ``Workflow`` class.

One run of the workflow is one iteration of the loop.  Each node is a step; each edge is an
event class the target step accepts (a node with several parents has one slot per parent, an
engine multi-slot join, so it runs once on their merged data).  The first step calls the
producer (or, for a for-each body or a replay, starts at given nodes).

Ending an iteration: every event carries a share (``weight``) of ``FULL``.  A fork splits its
share among its targets; a join adds its slots' shares; a branch that reaches its end returns
its share to the ``finish`` step, which stops the run once all of ``FULL`` came back.  A
conditional sends *skip* events down the branch it did not take, so a join below it still hears
from every parent (a skipped node passes the skip on without running).  A straight path never
splits its share, so its last node stops the run itself.

The parts: ``_loop_plan`` (what compiling decided: slots, targets, observers), ``_router``
(where a step's result goes), ``_loop_steps`` (the steps), ``_compiled`` (the result, and
running a for-each body with it).
"""

from __future__ import annotations

import re
import types
from typing import Any

from reflow.flows._classes import class_name, register_class
from reflow.flows._compiled import CompiledLoop, run_loop_node
from reflow.flows._events import NodeInput, Observer
from reflow.flows._execution import BoundNode
from reflow.flows._graph import FlowGraph
from reflow.flows._loop_plan import LoopPlan, fork_branch_nodes
from reflow.flows._loop_steps import finish_step, node_step, start_step
from reflow.flows._nodes import Pool
from reflow.workflow import Workflow

__all__ = ["CompiledLoop", "compile_loop", "run_loop_node"]


def _ident(node_id: str) -> str:
    text = re.sub(r"\W", "_", node_id)
    return text if text[:1].isalpha() else f"node_{text}"


def _step_names(nodes: list[str]) -> dict[str, str]:
    """A distinct Python identifier per node (``a-b`` and ``a_b`` must not collide, nor a node
    called ``finish`` with the finishing step)."""
    names: dict[str, str] = {}
    used = {"finish"}
    for node_id in nodes:
        base = _ident(node_id)
        name, n = base, 2
        while name in used:
            name, n = f"{base}_{n}", n + 1
        used.add(name)
        names[node_id] = name
    return names


def compile_loop(
    graph: FlowGraph,
    bound: dict[str, BoundNode],
    *,
    producer: str | None = None,
    body_of: str | None = None,
    observers: list[Observer] | None = None,
    name: str = "Flow",
    fork_pool: Pool | None = None,
) -> CompiledLoop:
    """The workflow of the loop started by ``producer``, or of the body of loop node
    ``body_of``."""
    if producer is not None:
        entries = graph.next(producer)
        members = [producer, *graph.loop_nodes(entries)]
    else:
        assert body_of is not None
        entries = graph.next(body_of, "subdag")
        members = graph.body_of(body_of)
    member_set = set(members)
    names = _step_names(members)
    loop_name = producer if producer is not None else f"body_{body_of}"

    def event_class(*parts: str) -> type[NodeInput]:
        full = class_name(name, loop_name, *parts)
        return register_class(types.new_class(full, (NodeInput,)), full, parts[-1])

    inputs: dict[str, list[tuple[str, type[NodeInput]]]] = {}
    for node_id in members:
        if node_id == producer:
            continue
        parents = [p for p in graph.in_loop_parents(node_id, member_set)]
        base = f"{names[node_id].capitalize()}Input"
        if len(parents) <= 1:
            inputs[node_id] = [(parents[0] if parents else "", event_class(base))]
        else:
            inputs[node_id] = [
                (p, event_class(f"{base}From{names[p].capitalize()}")) for p in parents
            ]
    compiled_bodies: dict[str, CompiledLoop] = {}
    observer_list = observers if observers is not None else []

    def compile_body(loop_id: str) -> CompiledLoop:
        if loop_id not in compiled_bodies:
            compiled_bodies[loop_id] = compile_loop(
                graph,
                bound,
                body_of=loop_id,
                observers=observer_list,
                name=name,
                fork_pool=fork_pool,
            )
        return compiled_bodies[loop_id]

    plan = LoopPlan(graph, bound, members, inputs, observer_list, compile_body)
    if fork_pool is not None:
        plan.fork_pools = dict.fromkeys(fork_branch_nodes(plan), fork_pool)
    step_names = names
    if producer is not None:
        start_name = names[producer]
    else:
        start_name = f"body_{_ident(body_of or '')}"
        while start_name in names.values():
            start_name += "_"
    namespace: dict[str, Any] = {start_name: start_step(plan, start_name, producer, entries)}
    for node_id in members:
        if node_id != producer:
            namespace[step_names[node_id]] = node_step(plan, node_id, step_names[node_id])
    namespace["finish"] = finish_step()
    workflow_name = class_name(name, loop_name, "Workflow")
    workflow_class = register_class(
        types.new_class(workflow_name, (Workflow,), exec_body=lambda ns: ns.update(namespace)),
        workflow_name,
    )
    return CompiledLoop(workflow_class, producer or entries[0], members, step_names, observer_list)
