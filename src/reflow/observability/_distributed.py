"""Steps executed on other processes of a DBOS cluster, in their run's trace.

The driving process sends the ``traceparent`` of the step attempt's span along with the
queued execution (``outgoing_traceparent``); the process that dequeues it opens the
execution's span as that attempt's child (``execution_span``), so the step's own spans, logs
and shell commands nest under it.  ``reflow.dbos`` finds this module in ``sys.modules``: it is
loaded by ``instrument()``, and a process that never instruments pays nothing.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace

from reflow.observability import _attributes as attr
from reflow.observability import _propagation
from reflow.observability._command_span import command_tracer
from reflow.observability._factory import sdk_configured
from reflow.observability._logs import LogFields, current_log_fields
from reflow.observability._propagation import context_from_traceparent, current_traceparent
from reflow.observability._spans import fail_span

# The tracer of the last ``instrument()`` (None while uninstrumented); set by _instrument.
tracer: trace.Tracer | None = None
# Whether ``instrument()`` named a provider; without one, spans wait for a global SDK.
explicit = False


def _active() -> trace.Tracer | None:
    if tracer is None:
        return None
    if not explicit and not sdk_configured():
        return None
    return tracer


def attempt_traceparent(run_id: str, attempt_id: int) -> str | None:
    """The ``traceparent`` of a step attempt's span, to send with its execution when the
    attempt is enqueued with its tick (before the step's own call has begun)."""
    return _propagation.attempt_traceparent(run_id, attempt_id) if _active() is not None else None


def outgoing_traceparent() -> str | None:
    """The ``traceparent`` of the current step attempt's span, to send with its execution."""
    return current_traceparent() if _active() is not None else None


@contextmanager
def execution_span(
    traceparent: str | None,
    *,
    run_id: str,
    workflow: str,
    step: str,
    attempt_id: int,
    queue: str,
    executor_id: str | None,
) -> Iterator[None]:
    """The span of one step execution on this process, a child of its attempt's span."""
    active = _active()
    if active is None:
        yield
        return
    parent = context_from_traceparent(traceparent) or otel_context.Context()
    attributes: dict[str, str | int] = {
        attr.RUN_ID: run_id,
        attr.WORKFLOW: workflow,
        attr.STEP: step,
        attr.ATTEMPT_ID: attempt_id,
        attr.DBOS_QUEUE: queue,
        attr.PROCESS_PID: os.getpid(),
    }
    if executor_id is not None:
        attributes[attr.DBOS_EXECUTOR] = executor_id
    span = active.start_span(
        f"step_execution {step}",
        context=parent,
        kind=trace.SpanKind.CONSUMER,
        attributes=attributes,
    )
    token = otel_context.attach(trace.set_span_in_context(span, parent))
    tracer_token = command_tracer.set(active)
    fields_token = current_log_fields.set(LogFields(run_id, workflow, step))
    try:
        yield
    except BaseException as error:
        span.set_attribute(attr.STEP_OUTCOME, "failed")
        if isinstance(error, Exception):
            fail_span(span, error, time.time())
        raise
    else:
        span.set_attribute(attr.STEP_OUTCOME, "returned")
    finally:
        span.end()
        current_log_fields.reset(fields_token)
        command_tracer.reset(tracer_token)
        otel_context.detach(token)
