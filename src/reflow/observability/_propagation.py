"""W3C trace context in and out of a process: what the server, the CLI and shell runners call.

``current_traceparent()`` is what a shell command gets as ``TRACEPARENT`` and what an HTTP
response carries; ``inject`` and ``extract`` move the whole context (``traceparent``,
``tracestate``, baggage) through any string mapping with the globally configured propagator
(W3C trace context and baggage unless the application chose otherwise).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_w3c = TraceContextTextMapPropagator()


def current_traceparent(context: otel_context.Context | None = None) -> str | None:
    """The W3C ``traceparent`` of the current span (or of ``context``); None without one."""
    carrier: dict[str, str] = {}
    _w3c.inject(carrier, context=context)
    return carrier.get("traceparent")


def traceparent_of(span: trace.Span) -> str | None:
    """The W3C ``traceparent`` naming ``span`` as the parent; None for a non-recording span."""
    if not span.get_span_context().is_valid:
        return None
    return current_traceparent(trace.set_span_in_context(span))


def context_from_traceparent(traceparent: str | None) -> otel_context.Context | None:
    """A context whose parent is the span ``traceparent`` names; None if it is not valid."""
    if not traceparent:
        return None
    context = _w3c.extract({"traceparent": traceparent})
    return context if trace.get_current_span(context).get_span_context().is_valid else None


def inject(carrier: MutableMapping[str, str], context: otel_context.Context | None = None) -> None:
    """Write the current (or ``context``'s) trace context into ``carrier`` (HTTP headers)."""
    propagate.inject(carrier, context=context)


def extract(carrier: Mapping[str, str]) -> otel_context.Context:
    """The trace context ``carrier`` holds (for example request headers); empty if none."""
    return propagate.extract(carrier)


@contextmanager
def attached(context: otel_context.Context | None) -> Iterator[None]:
    """Make ``context`` current for the block (runs started inside become its children)."""
    if context is None:
        yield
        return
    token = otel_context.attach(context)
    try:
        yield
    finally:
        otel_context.detach(token)


RUN_TRACEPARENTS_LIMIT = 10_000

# run id -> traceparent of its latest run span in this process, newest last (bounded).
_run_traceparents: OrderedDict[str, str] = OrderedDict()


def remember_run_span(run_id: str, span: trace.Span) -> None:
    traceparent = traceparent_of(span)
    if traceparent is not None:
        _run_traceparents[run_id] = traceparent
        _run_traceparents.move_to_end(run_id)
        if len(_run_traceparents) > RUN_TRACEPARENTS_LIMIT:
            _run_traceparents.popitem(last=False)


def run_traceparent(run_id: str) -> str | None:
    """The W3C ``traceparent`` of the run span of ``run_id`` in this process, if traced.

    A server answering a request that started or resumed a run sends this back, so the client
    can link to the run's trace.  Only the last 10,000 runs traced here are remembered.
    """
    return _run_traceparents.get(run_id)


ATTEMPT_SPANS_LIMIT = 100_000

# (run id, attempt id) -> the span of that step attempt, while it is open in this process.
_attempt_spans: OrderedDict[tuple[str, int], trace.Span] = OrderedDict()


def remember_attempt_span(run_id: str, attempt_id: int, span: trace.Span) -> None:
    _attempt_spans[(run_id, attempt_id)] = span
    if len(_attempt_spans) > ATTEMPT_SPANS_LIMIT:
        _attempt_spans.popitem(last=False)


def forget_attempt_span(run_id: str, attempt_id: int) -> None:
    _attempt_spans.pop((run_id, attempt_id), None)


def attempt_traceparent(run_id: str, attempt_id: int) -> str | None:
    """The W3C ``traceparent`` of the open span of one step attempt in this process.

    The span opens when the reducer starts the attempt, before the tick that starts it is
    journaled: a runtime that sends the attempt elsewhere in the same transaction (``reflow
    .dbos``) names it as the parent of the execution there.
    """
    span = _attempt_spans.get((run_id, attempt_id))
    return None if span is None else traceparent_of(span)
