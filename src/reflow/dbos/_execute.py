"""One attempt of a step, run in whichever process dequeued it, away from its run.

The step gets its event decoded from the journal's encoding; a step without a ``Context``
gets a stand-in run that has only its id, a ``Context`` step a ``_capture.CapturedRun`` over
the store as it was at dispatch.  The result goes back encoded, with a ``Context`` step's
effects (store writes, sends, stream writes) and, if it raised after making some, its error.
"""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Any

from reflow.dbos._capture import (
    CapturedRun,
    StayLocal,
    codec_of,
    result_from_json,
    result_to_json,
    stayed_local,
)
from reflow.durable._encoding import dumps, loads
from reflow.engine import RetryState
from reflow.events import Event
from reflow.runtime.types.step_call import StepCall


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


def tracing_module() -> Any:
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
    *,
    queue: str,
    executor_id: str | None,
) -> str:
    """Run the step here on the decoded event; its result, encoded for the journal.

    ``traceparent`` names the attempt's span in the driving process: the execution's span
    here is its child (when this process is instrumented), tagged with the ``queue`` it came
    from and this process's ``executor_id``.  ``context`` (a ``Context`` step) is what
    ``_capture.dispatch_context`` sent: the result then carries the step's effects.
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
    tracing = tracing_module()
    span: Any = nullcontext()
    if tracing is not None:
        span = tracing.execution_span(
            traceparent,
            run_id=run_id,
            workflow=workflow.workflow_name,
            step=step_name,
            attempt_id=int(attempt),
            queue=queue,
            executor_id=executor_id,
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
