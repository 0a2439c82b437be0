"""Steps that run on any process of the cluster: which qualify, and how one attempt runs there.

A step qualifies when it needs nothing from its run but its input event: no ``Context`` (the
run's store, its stream, ``send_event`` and ``wait_for_event`` live with the process driving
the run), not a collecting step.  Its attempts go through the step's DBOS queue; every other
step runs in the process driving the run, as on ``DurableRuntime``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

from reflow.dbos import _cluster
from reflow.durable._encoding import codec_for, dumps, loads
from reflow.engine import RetryState
from reflow.events import Event
from reflow.runtime.types.step_call import StepCall, StepWorkerFunction


def runs_anywhere(config: Any) -> bool:
    return (
        config.context_parameter is None
        and config.collection_param is None
        and not config.collect_params
        and not config.resources
    )


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


def _codec(workflow: Any) -> Any:
    return codec_for(workflow._run_config(""))


def encode_event(workflow: Any, event: Event | list[Event] | None) -> str:
    codec = _codec(workflow)
    if event is None:
        return dumps(None)
    if isinstance(event, list):
        return dumps([codec.event_to_json(e) for e in event])
    return dumps(codec.event_to_json(event))


def decode_event(workflow: Any, body: str) -> Event | list[Event] | None:
    codec = _codec(workflow)
    data = loads(body)
    if data is None:
        return None
    if isinstance(data, list):
        return [codec.event_from_json(item) for item in data]
    event: Event = codec.event_from_json(data)
    return event


def _tracing() -> Any:
    """``reflow.observability._distributed`` when this process instrumented, else None.

    Looked up, never imported: OpenTelemetry is an extra, and a process that did not call
    ``instrument()`` has no trace to continue.
    """
    return sys.modules.get("reflow.observability._distributed")


async def execute(
    workflow: Any, step_name: str, key: str, event_body: str, traceparent: str | None = None
) -> str:
    """Run the step here on the decoded event; its result, encoded for the journal.

    ``traceparent`` names the attempt's span in the driving process: the execution's span
    here is its child (when this process is instrumented).
    """
    prefix, _, attempt = key.rpartition(":")  # the key is RUN_ID:STEP:ATTEMPT
    run_id = prefix[: -len(step_name) - 1]
    event = decode_event(workflow, event_body)
    assert isinstance(event, Event)
    call = StepCall(
        run=_Detached(run_id),
        step_name=step_name,
        worker_id=0,
        attempt_id=int(attempt),
        event=event,
        retry=RetryState(),
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
        result = await workflow._step_workers()[step_name](call)
    return encode_event(workflow, result)


def distribute(
    workflow: Any, steps: Mapping[str, StepWorkerFunction]
) -> dict[str, StepWorkerFunction]:
    """``steps`` with each step that runs anywhere sent through its queue instead."""
    name = workflow.workflow_name
    routed: dict[str, StepWorkerFunction] = dict(steps)
    for step_name, num_workers in remote_steps(workflow):

        async def through_queue(
            call: StepCall, step_name: str = step_name, num_workers: int = num_workers
        ) -> Any:
            body = encode_event(workflow, call.event)
            key = call.idempotency_key
            tracing = _tracing()
            traceparent = None if tracing is None else tracing.outgoing_traceparent()
            result = await _cluster.enqueue_step(
                name, step_name, num_workers, key, body, traceparent
            )
            return decode_event(workflow, result)

        routed[step_name] = through_queue
    return routed


def remote_steps(workflow: Any) -> Sequence[tuple[str, int]]:
    """(step name, num_workers) of the workflow's steps that may run on any process."""
    found = []
    for step_name, config in workflow._configs.items():
        if runs_anywhere(config):
            found.append((step_name, int(config.num_workers or 1)))
    return found
