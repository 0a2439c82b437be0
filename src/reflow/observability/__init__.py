"""Observability: OpenTelemetry traces, metrics and correlated logs for reflow runs.

Needs the ``otel`` extra (``opentelemetry-api``); the peer's instrumentation hooks need the
``instrumentation`` extra (``llama-index-instrumentation``).  Nothing is emitted until
``instrument()`` is called.  See docs/observability.md.
"""

from __future__ import annotations

try:
    import opentelemetry.trace  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "reflow.observability needs OpenTelemetry: pip install 'reflow[otel]'"
    ) from exc

from reflow.observability._capture import SpanCapture, capture_spans
from reflow.observability._instrument import instrument, is_instrumented, uninstrument
from reflow.observability._listener import run_traceparent
from reflow.observability._logs import (
    JsonFormatter,
    RunContextFilter,
    disable_log_context,
    enable_log_context,
)
from reflow.observability._propagation import (
    attached,
    context_from_traceparent,
    current_traceparent,
    extract,
    inject,
    traceparent_of,
)
from reflow.observability._render import render_span_tree

__all__ = [
    "JsonFormatter",
    "RunContextFilter",
    "SpanCapture",
    "attached",
    "capture_spans",
    "context_from_traceparent",
    "current_traceparent",
    "disable_log_context",
    "enable_log_context",
    "extract",
    "inject",
    "instrument",
    "is_instrumented",
    "render_span_tree",
    "run_traceparent",
    "traceparent_of",
    "uninstrument",
]
