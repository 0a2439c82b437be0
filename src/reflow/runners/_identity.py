"""Which step attempt the calling code runs in, read through ``Context.get_step_context()``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from reflow.context import Context
from reflow.errors import WorkflowRuntimeError

_TRACE_NAMESPACE = uuid.UUID("6f1d2c1e-8a43-4f0e-9a57-0b7f1e2d3c4a")


@dataclass(frozen=True, slots=True)
class StepIdentity:
    run_id: str
    step: str
    attempt: int
    """1 for the first try of this step's work, 2 for its first retry, ..."""
    idempotency_key: str
    """``run_id:step:attempt_id``: the same in every execution of one attempt (crash re-runs)."""
    trace_id: str
    span_id: str
    context: Context[Any]


def current_identity() -> StepIdentity | None:
    """The running step attempt, or None outside a step."""
    try:
        ctx = Context.get_step_context()
    except WorkflowRuntimeError:
        return None
    key = ctx.idempotency_key
    # Step names are identifiers, attempt ids integers: the run id is everything before them.
    run_id, step, _ = key.rsplit(":", 2)
    attempt = ctx.retry_info().retry_number + 1
    # Deterministic ids, so a re-run after a crash continues the same trace.
    trace_id = uuid.uuid5(_TRACE_NAMESPACE, run_id).hex
    span_id = uuid.uuid5(_TRACE_NAMESPACE, key).hex[:16]
    return StepIdentity(run_id, step, attempt, key, trace_id, span_id, ctx)
