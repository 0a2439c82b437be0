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

import sys
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from reflow.dbos import _cluster
from reflow.dbos._capture import (
    CapturedRun,
    StayLocal,
    StoreConflict,
    apply_outcome,
    codec_of,
    dispatch_context,
    needs_live_run,
    result_from_json,
    result_to_json,
    stayed_local,
)
from reflow.durable._encoding import dumps, loads
from reflow.engine import RetryState
from reflow.events import Event
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


class _Detached:
    """The run as seen by a step executing away from it: only its id."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def now(self) -> float:
        import time

        return time.time()

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a step running on another process of the cluster has no Context")

    send_event = publish = collect = wait_for = get_state_store = _refuse

    def is_replaying(self) -> bool:
        return False


def encode_event(workflow: Any, event: Event | list[Event] | None) -> str:
    return dumps(result_to_json(codec_of(workflow), event))


def decode_event(workflow: Any, body: str) -> Event | list[Event] | None:
    return result_from_json(codec_of(workflow), loads(body))


def _tracing() -> Any:
    """``reflow.observability._distributed`` when this process instrumented, else None.

    Looked up, never imported: OpenTelemetry is an extra, and a process that did not call
    ``instrument()`` has no trace to continue.
    """
    return sys.modules.get("reflow.observability._distributed")


async def execute(
    workflow: Any,
    step_name: str,
    key: str,
    event_body: str,
    traceparent: str | None = None,
    context: str | None = None,
) -> str:
    """Run the step here on the decoded event; its result, encoded for the journal.

    ``traceparent`` names the attempt's span in the driving process: the execution's span
    here is its child (when this process is instrumented).  ``context`` (a ``Context`` step)
    is what ``_capture.dispatch_context`` sent: the result then carries the step's effects.
    """
    prefix, _, attempt = key.rpartition(":")  # the key is RUN_ID:STEP:ATTEMPT
    run_id = prefix[: -len(step_name) - 1]
    event = decode_event(workflow, event_body)
    assert isinstance(event, Event)
    captured = None if context is None else CapturedRun(run_id, workflow, context)
    call = StepCall(
        run=_Detached(run_id) if captured is None else captured,
        step_name=step_name,
        worker_id=0,
        attempt_id=int(attempt),
        event=event,
        retry=RetryState() if captured is None else captured.retry,
    )
    tracing = _tracing()
    span: Any = nullcontext()
    if tracing is not None:
        cluster = _cluster._cluster
        span = tracing.execution_span(
            traceparent,
            run_id=run_id,
            workflow=workflow.workflow_name,
            step=step_name,
            attempt_id=int(attempt),
            queue=_cluster.queue_name(workflow.workflow_name, step_name),
            executor_id=None if cluster is None else cluster.executor_id,
        )
    with span:
        try:
            result = await workflow._step_workers()[step_name](call)
        except StayLocal:
            return stayed_local()
        except Exception as exc:
            if captured is None or not captured.has_effects():
                raise  # DBOS records the error; the driving process raises it
            # What the step did before it raised stands, as in the driving process: the
            # effects travel back with the error, which the driving process raises after.
            return captured.outcome(workflow, None, error=exc)
    if captured is not None:
        return captured.outcome(workflow, result)
    return encode_event(workflow, result)


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
            tracing = _tracing()
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
