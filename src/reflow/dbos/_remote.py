"""Steps that run on any process of the cluster: which qualify, and how one attempt runs there.

A step qualifies unless it needs the live run: a collecting step, a step with resources (they
live in the process that built them), a step whose code calls ``collect_events`` or
``wait_for_event`` (``_capture.needs_live_run``), or a step named in ``local_steps``.  A step
without a ``Context`` gets only its event; a ``Context`` step also gets the run's store as it
was at dispatch, and its store writes, sends and stream writes come back with its result
(``_capture``).  Its attempts go through the step's DBOS queue; every other step runs in the
process driving the run, as on ``DurableRuntime``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reflow.dbos import _cluster
from reflow.dbos._capture import (
    StayLocal,
    StoreConflict,
    apply_outcome,
    dispatch_context,
    needs_live_run,
)
from reflow.dbos._execute import decode_event, encode_event, tracing_module
from reflow.runtime.types.step_call import StepCall, StepWorkerFunction


def runs_anywhere(workflow: Any, step_name: str, local_steps: frozenset[str] = frozenset()) -> bool:
    config = workflow._configs[step_name]
    if step_name in local_steps or f"{workflow.workflow_name}.{step_name}" in local_steps:
        return False
    if config.collection_param is not None or config.collect_params or config.resources:
        return False
    if config.context_parameter is None:
        return True
    return not needs_live_run(workflow._functions.get(step_name))


def distribute(
    workflow: Any,
    steps: Mapping[str, StepWorkerFunction],
    local_steps: frozenset[str] = frozenset(),
) -> dict[str, StepWorkerFunction]:
    """``steps`` with each step that runs anywhere sent through its queue instead."""
    name = workflow.workflow_name
    routed: dict[str, StepWorkerFunction] = dict(steps)
    # Context steps whose execution elsewhere needed the live run (``StayLocal``) or whose
    # store writes raced another step's (``StoreConflict``): this process runs them itself
    # from then on.
    stay: set[str] = set()
    for step_name, _ in remote_steps(workflow, local_steps):
        local = steps[step_name]
        with_context = workflow._configs[step_name].context_parameter is not None

        async def through_queue(
            call: StepCall,
            step_name: str = step_name,
            local: StepWorkerFunction = local,
            with_context: bool = with_context,
        ) -> Any:
            if step_name in stay:
                return await local(call)
            body = encode_event(workflow, call.event)
            context = dispatch_context(workflow, call) if with_context else None
            tracing = tracing_module()
            traceparent = None if tracing is None else tracing.outgoing_traceparent()
            result = await _cluster.enqueue_step(
                name, step_name, call.idempotency_key, body, traceparent, context
            )
            if context is None:
                return decode_event(workflow, result)
            try:
                return await apply_outcome(workflow, call, result, context)
            except (StayLocal, StoreConflict):
                # Needs the live run, or writes keys other steps write at the same time:
                # this attempt runs again here, and so does the step from now on.
                stay.add(step_name)
                return await local(call)

        routed[step_name] = through_queue
    return routed


def remote_steps(
    workflow: Any, local_steps: frozenset[str] = frozenset()
) -> Sequence[tuple[str, int]]:
    """(step name, num_workers) of the workflow's steps that may run on any process."""
    found = []
    for step_name, config in workflow._configs.items():
        if runs_anywhere(workflow, step_name, local_steps):
            found.append((step_name, int(config.num_workers or 1)))
    return found
