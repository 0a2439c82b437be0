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
"""

from __future__ import annotations

import asyncio
import inspect
import re
import time
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reflow.context.context import Context
from reflow.decorators import step
from reflow.events import Event, StopEvent
from reflow.flows._classes import class_name, register_class
from reflow.flows._events import (
    FULL,
    BranchEnd,
    FlowStart,
    NodeInput,
    NodeTimeoutError,
    Observer,
    node_event,
    notify,
    split_weight,
)
from reflow.flows._execution import BoundNode, NodeFailure
from reflow.flows._graph import FlowGraph
from reflow.flows._nodes import Payload, Pool, merge_payloads
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed
from reflow.runtime.types.plugin import Runtime
from reflow.workflow import Workflow

__all__ = ["CompiledLoop", "compile_loop", "run_loop_node"]

_FINISH_KEY = "flow_finish"


def _ident(node_id: str) -> str:
    text = re.sub(r"\W", "_", node_id)
    return text if text[:1].isalpha() else f"node_{text}"


@dataclass
class CompiledLoop:
    """The workflow class of one loop plus what the loop driver needs to know about it."""

    workflow_class: type[Workflow]
    entry: str
    members: list[str]
    step_names: dict[str, str]
    observers: list[Observer] = field(default_factory=list)

    def workflow(self, timeout: float | None = None, runtime: Runtime | None = None) -> Workflow:
        return self.workflow_class(timeout=timeout, runtime=runtime)


@dataclass
class _Plan:
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


def _signature(
    params: list[tuple[str, Any]], returns: Any
) -> tuple[inspect.Signature, dict[str, Any]]:
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter("self", kind)]
    annotations: dict[str, Any] = {}
    for name, annotation in params:
        parameters.append(inspect.Parameter(name, kind, annotation=annotation))
        annotations[name] = annotation
    annotations["return"] = returns
    return inspect.Signature(parameters, return_annotation=returns), annotations


def _union(types_: list[Any]) -> Any:
    unique = list(dict.fromkeys(types_))
    return unique[0] if len(unique) == 1 else typing.Union[tuple(unique)]  # noqa: UP007


def _as_step(
    name: str,
    body: Callable[..., Any],
    params: list[tuple[str, Any]],
    returns: list[Any],
    options: dict[str, Any],
) -> Any:
    async def function(self: Any, **kwargs: Any) -> Any:
        return await body(**kwargs)

    signature, annotations = _signature(params, _union(returns))
    function.__name__ = name
    function.__qualname__ = f"FlowWorkflow.{name}"
    function.__signature__ = signature  # type: ignore[attr-defined]
    function.__annotations__ = annotations
    return step(**options)(function)


class _Router:
    """What a step does once its node produced (or skipped): send events on, or end.

    The targets and their event classes are resolved once, at compile time.
    """

    def __init__(self, plan: _Plan, node_id: str) -> None:
        self.node_id = node_id
        self.branches: list[tuple[str, list[type[NodeInput]]]] = [
            (key, [plan.event_class(t, node_id) for t in nodes])
            for key, nodes in plan.targets(node_id).items()
        ]
        self.count = sum(len(classes) for _, classes in self.branches)
        every = [cls for _, classes in self.branches for cls in classes]
        self.single = every[0] if len(every) == 1 else None

    def route(
        self, ctx: Context, payload: Payload | None, weight: int, branch: str | None
    ) -> Event:
        if self.single is not None and branch is None:
            return node_event(self.single, payload, weight)
        if not self.count:
            data = None if payload is None else payload.data
            if weight == FULL and data is not None:
                return StopEvent(result={"done": False, "outputs": {self.node_id: data}})
            return BranchEnd(node=self.node_id, weight=weight, data=data)
        shares = split_weight(weight, self.count)
        events: list[NodeInput] = []
        for key, classes in self.branches:
            sent = None if branch is not None and key != branch else payload
            for cls in classes:
                events.append(node_event(cls, sent, shares[len(events)]))
        for event in events[1:]:
            ctx.send_event(event)
        return events[0]

    def returns(self) -> list[Any]:
        classes = [cls for _, group in self.branches for cls in group]
        return [*classes, StopEvent, BranchEnd]


def _fork_branch_nodes(plan: _Plan) -> list[str]:
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


def _node_step(plan: _Plan, node_id: str, name: str) -> Any:
    bound = plan.bound[node_id]
    router = _Router(plan, node_id)
    slots = plan.inputs[node_id]
    names = [f"ev{i}" if i else "ev" for i in range(len(slots))]
    kind = plan.graph.kind(node_id)
    observed = plan.observers
    timeout = bound.spec.data.timeout
    pool = plan.fork_pools.get(node_id)

    async def execute(payload: Payload) -> Payload:
        if kind == "loop":
            return await run_loop_node(bound, plan.compile_body(node_id), payload)
        if timeout is None:
            return await bound.run(payload, pool)
        try:
            return await asyncio.wait_for(bound.run(payload, pool), timeout)
        except asyncio.TimeoutError:
            raise NodeTimeoutError(
                f"node {node_id!r} timed out after {timeout:g} seconds"
            ) from None

    async def body(ctx: Context, **events: NodeInput) -> Event:
        arrived = [events[name] for name in names]
        weight = sum(e.weight for e in arrived)
        real = [e for e in arrived if not e.skipped]
        if not real:
            return router.route(ctx, None, weight, None)
        payload = merge_payloads([Payload(e.data, e.metadata, e.pid) for e in real])
        started = 0.0
        if observed:
            started = time.perf_counter()
            plan.emit("node_started", {"node_id": node_id, "node_type": bound.type_id})
        try:
            out = await execute(payload)
            if kind == "conditional" and out.route not in ("yes", "no"):
                raise ValueError(
                    f"conditional node {node_id!r} chose no branch: set payload.route to "
                    f"'yes' or 'no' (ConditionalNode.routed), got {out.route!r}"
                )
        except Exception as exc:
            if observed:
                plan.emit(
                    "node_failed",
                    {"node_id": node_id, "node_type": bound.type_id, "error": str(exc)},
                )
            raise NodeFailure(node_id, bound.type_id, payload, exc) from exc
        branch = out.route if kind == "conditional" else None
        out.route = None
        if observed:
            plan.emit(
                "node_completed",
                {
                    "node_id": node_id,
                    "node_type": bound.type_id,
                    "route": branch,
                    "duration": time.perf_counter() - started,
                },
            )
        return router.route(ctx, out, weight, branch)

    params: list[tuple[str, Any]] = [("ctx", Context)]
    params += [(name, cls) for name, (_, cls) in zip(names, slots, strict=True)]
    options: dict[str, Any] = {"num_workers": 1}
    retry = bound.spec.data.retry
    if retry is not None and retry.attempts > 1:
        options["retry_policy"] = retry_policy(
            stop=stop_after_attempt(retry.attempts), wait=wait_fixed(retry.delay)
        )
    return _as_step(name, body, params, router.returns(), options)


async def run_loop_node(bound: BoundNode, body: CompiledLoop, payload: Payload) -> Payload:
    """Run a for-each node: its body workflow once per item, then the results."""
    items = await bound.items(payload)
    workflow = body.workflow()
    results: list[Any] = []
    state: dict[str, Any] = {"index": 0, "item": None}
    for index, item in enumerate(items):
        state = {"index": index, "item": item}
        data = {
            **payload.data,
            "forEachNode": {"input": items, "results": list(results), "state": state},
        }
        start = FlowStart(payload={"data": data, "metadata": payload.metadata, "id": payload.id})
        result = await workflow.run(start_event=start)
        outputs = list(result["outputs"].values())
        results.append(outputs[0] if len(outputs) == 1 else outputs)
    data = {
        **payload.data,
        "loop_results": results,
        "forEachNode": {"input": items, "results": results, "state": state},
    }
    return Payload(data, payload.metadata, payload.id)


def _finish_step() -> Any:
    async def body(ctx: Context, ev: BranchEnd) -> StopEvent | None:
        done = await ctx.store.get(_FINISH_KEY, default=None) or {"weight": 0, "outputs": {}}
        done["weight"] += ev.weight
        if ev.data is not None:
            done["outputs"][ev.node] = ev.data
        if done["weight"] >= FULL:
            return StopEvent(result={"done": False, "outputs": done["outputs"]})
        await ctx.store.set(_FINISH_KEY, done)
        return None

    return _as_step(
        "finish",
        body,
        [("ctx", Context), ("ev", BranchEnd)],
        [StopEvent, type(None)],
        {"num_workers": 1},
    )


def _start_step(plan: _Plan, name: str, producer: str | None, entries: list[str]) -> Any:
    entry_router = _Router(plan, producer) if producer else None
    bound = plan.bound.get(producer) if producer else None
    observed = plan.observers

    def start_at(ctx: Context, targets: list[str], payload: Payload) -> Event | None:
        sends: list[NodeInput] = []
        shares = split_weight(FULL, sum(len(plan.inputs[t]) for t in targets))
        for target in targets:
            for index, (_, cls) in enumerate(plan.inputs[target]):
                sends.append(node_event(cls, payload if index == 0 else None, shares[len(sends)]))
        for event in sends[1:]:
            ctx.send_event(event)
        return sends[0] if sends else None

    async def body(ctx: Context, ev: FlowStart) -> Event | None:
        if ev.entry is not None or producer is None:
            payload = Payload.from_dict(ev.payload or {})
            return start_at(ctx, [ev.entry] if ev.entry else entries, payload)
        assert bound is not None
        started = 0.0
        if observed:
            started = time.perf_counter()
            plan.emit("node_started", {"node_id": producer, "node_type": bound.type_id})
        incoming = Payload()
        try:
            out = await bound.produce(incoming, ev.token)
        except Exception as exc:
            if observed:
                plan.emit(
                    "node_failed",
                    {"node_id": producer, "node_type": bound.type_id, "error": str(exc)},
                )
            raise NodeFailure(producer, bound.type_id, incoming, exc) from exc
        if observed:
            # A producer that is done completes too (``done``), so no start is left open.
            plan.emit(
                "node_completed",
                {
                    "node_id": producer,
                    "node_type": bound.type_id,
                    "route": None,
                    "duration": time.perf_counter() - started,
                    "done": out is None,
                },
            )
        if out is None:
            return StopEvent(result={"done": True, "outputs": {}})
        assert entry_router is not None
        return entry_router.route(ctx, out, FULL, None)

    returns: list[Any] = [StopEvent, type(None)]
    if entry_router is not None:
        returns = [*entry_router.returns(), type(None)]
    returns += [plan.inputs[t][0][1] for t in entries]
    return _as_step(name, body, [("ctx", Context), ("ev", FlowStart)], returns, {"num_workers": 1})


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

    plan = _Plan(graph, bound, members, inputs, observer_list, compile_body)
    if fork_pool is not None:
        plan.fork_pools = dict.fromkeys(_fork_branch_nodes(plan), fork_pool)
    step_names = names
    if producer is not None:
        start_name = names[producer]
    else:
        start_name = f"body_{_ident(body_of or '')}"
        while start_name in names.values():
            start_name += "_"
    namespace: dict[str, Any] = {start_name: _start_step(plan, start_name, producer, entries)}
    for node_id in members:
        if node_id != producer:
            namespace[step_names[node_id]] = _node_step(plan, node_id, step_names[node_id])
    namespace["finish"] = _finish_step()
    workflow_name = class_name(name, loop_name, "Workflow")
    workflow_class = register_class(
        types.new_class(workflow_name, (Workflow,), exec_body=lambda ns: ns.update(namespace)),
        workflow_name,
    )
    return CompiledLoop(workflow_class, producer or entries[0], members, step_names, observer_list)
