"""Observability: OpenTelemetry traces, metrics and correlated logs for reflow runs.

Needs the ``otel`` extra (``opentelemetry-api``); the peer's instrumentation hooks need the
``instrumentation`` extra (``llama-index-instrumentation``).  No OpenTelemetry data is emitted
until ``instrument()`` is called.  See docs/observability.md.

The names are loaded on first use, so ``import reflow`` (which watches for the peer's
instrumentation, ``_auto``) never needs OpenTelemetry.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reflow.observability._capture import SpanCapture, capture_spans
    from reflow.observability._command_span import CommandSpan
    from reflow.observability._commands import start_command_span
    from reflow.observability._instrument import instrument, is_instrumented, uninstrument
    from reflow.observability._logs import (
        JsonFormatter,
        RunContextFilter,
        disable_log_context,
        enable_log_context,
    )
    from reflow.observability._metrics_only import metrics_listener_factory
    from reflow.observability._propagation import (
        attached,
        context_from_traceparent,
        current_traceparent,
        extract,
        inject,
        run_traceparent,
        traceparent_of,
    )
    from reflow.observability._render import render_span_tree

_HOMES = {
    "CommandSpan": "_command_span",
    "start_command_span": "_commands",
    "SpanCapture": "_capture",
    "capture_spans": "_capture",
    "instrument": "_instrument",
    "is_instrumented": "_instrument",
    "uninstrument": "_instrument",
    "metrics_listener_factory": "_metrics_only",
    "run_traceparent": "_propagation",
    "JsonFormatter": "_logs",
    "RunContextFilter": "_logs",
    "disable_log_context": "_logs",
    "enable_log_context": "_logs",
    "attached": "_propagation",
    "context_from_traceparent": "_propagation",
    "current_traceparent": "_propagation",
    "extract": "_propagation",
    "inject": "_propagation",
    "traceparent_of": "_propagation",
    "render_span_tree": "_render",
}

__all__ = [
    "CommandSpan",
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
    "metrics_listener_factory",
    "render_span_tree",
    "run_traceparent",
    "start_command_span",
    "traceparent_of",
    "uninstrument",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'reflow.observability' has no attribute {name!r}")
    try:
        module = importlib.import_module(f"reflow.observability.{home}")
    except ImportError as exc:
        if exc.name is None or not exc.name.startswith("opentelemetry"):
            raise
        raise ImportError(
            f"reflow.observability.{name} needs OpenTelemetry: pip install 'reflow[otel]'"
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value
