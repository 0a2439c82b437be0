"""The steps of a compiled loop: one per node, the start step and the ``finish`` step.

Each is a plain function turned into a ``@step`` with a signature built here: the step's
parameters are the node's input slots (a join has one per parent), its return annotation the
events its router may send, so the workflow's own checks see the graph as it is.
"""

from __future__ import annotations

import asyncio
import inspect
import typing
from collections.abc import Callable
from typing import Any

from reflow.context.context import Context
from reflow.decorators import step
from reflow.events import Event, StopEvent
from reflow.flows._compiled import run_loop_node
from reflow.flows._events import (
    FULL,
    BranchEnd,
    FlowStart,
    NodeInput,
    NodeTimeoutError,
    node_event,
    split_weight,
)
from reflow.flows._loop_plan import LoopPlan
from reflow.flows._nodes import Payload, merge_payloads
from reflow.flows._router import Router
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed

_FINISH_KEY = "flow_finish"


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


def node_step(plan: LoopPlan, node_id: str, name: str) -> Any:
    bound = plan.bound[node_id]
    router = Router(plan, node_id)
    slots = plan.inputs[node_id]
    names = [f"ev{i}" if i else "ev" for i in range(len(slots))]
    kind = plan.graph.kind(node_id)
    timeout = bound.spec.data.timeout
    pool = plan.fork_pools.get(node_id)

    async def execute(payload: Payload) -> Payload:
        if kind == "loop":
            out = await run_loop_node(bound, plan.compile_body(node_id), payload)
        elif timeout is None:
            out = await bound.run(payload, pool)
        else:
            try:
                out = await asyncio.wait_for(bound.run(payload, pool), timeout)
            except asyncio.TimeoutError:
                raise NodeTimeoutError(
                    f"node {node_id!r} timed out after {timeout:g} seconds"
                ) from None
        if kind == "conditional" and out.route not in ("yes", "no"):
            raise ValueError(
                f"conditional node {node_id!r} chose no branch: set payload.route to "
                f"'yes' or 'no' (ConditionalNode.routed), got {out.route!r}"
            )
        return out

    async def body(ctx: Context, **events: NodeInput) -> Event:
        arrived = [events[name] for name in names]
        weight = sum(e.weight for e in arrived)
        real = [e for e in arrived if not e.skipped]
        if not real:
            return router.route(ctx, None, weight, None)
        payload = merge_payloads([Payload(e.data, e.metadata, e.pid) for e in real])
        out, started = await plan.run_node(node_id, payload, lambda: execute(payload))
        branch = out.route if kind == "conditional" else None
        out.route = None
        plan.completed(node_id, started, branch)
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


def finish_step() -> Any:
    """Adds up the shares branches hand back; the run ends once all of ``FULL`` came back."""

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


def start_step(plan: LoopPlan, name: str, producer: str | None, entries: list[str]) -> Any:
    """Calls the producer, or (a for-each body, a replay) starts at the given nodes."""
    entry_router = Router(plan, producer) if producer else None
    bound = plan.bound.get(producer) if producer else None

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
        assert bound is not None and entry_router is not None
        incoming = Payload()
        out, started = await plan.run_node(
            producer, incoming, lambda: bound.produce(incoming, ev.token)
        )
        # A producer that is done completes too (``done``), so no start is left open.
        plan.completed(producer, started, None, done=out is None)
        if out is None:
            return StopEvent(result={"done": True, "outputs": {}})
        return entry_router.route(ctx, out, FULL, None)

    returns: list[Any] = [StopEvent, type(None)]
    if entry_router is not None:
        returns = [*entry_router.returns(), type(None)]
    returns += [plan.inputs[t][0][1] for t in entries]
    return _as_step(name, body, [("ctx", Context), ("ev", FlowStart)], returns, {"num_workers": 1})
