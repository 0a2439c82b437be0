"""``instrument()``: turn reflow's OpenTelemetry traces and metrics (and the peer's
llama-index-instrumentation spans) on for every run started afterwards."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry import metrics, trace

from reflow._version import __version__
from reflow.observability import _auto, _distributed
from reflow.observability._attributes import INSTRUMENTATION_SCOPE
from reflow.observability._dbos_metrics import make_queue_depth_gauge
from reflow.observability._factory import otel_factory
from reflow.runtime.listeners import add_run_listener

_removers: list[Callable[[], None]] = []


def instrument(
    *,
    tracer_provider: trace.TracerProvider | None = None,
    meter_provider: metrics.MeterProvider | None = None,
    llama_index: bool | None = None,
) -> None:
    """Emit spans and metrics for every run started from now on.

    Without providers, the globally configured ones are used, and runs cost nothing extra
    while no SDK is installed.  ``llama_index``: True dispatches the peer's spans and events on
    llama-index-instrumentation's dispatcher for every run, False for none; None (the default)
    leaves it automatic, as without ``instrument()``: dispatched while a handler listens.
    Calling it again replaces the previous configuration.
    """
    uninstrument()
    trace.get_tracer_provider()  # loads providers configured through the environment
    metrics.get_meter_provider()
    _removers.append(add_run_listener(otel_factory(tracer_provider, meter_provider)))
    make_queue_depth_gauge(meter_provider)
    # Steps executed here for a run driven elsewhere (DBOSRuntime) get their spans from it.
    _distributed.tracer = trace.get_tracer(
        INSTRUMENTATION_SCOPE, __version__, tracer_provider=tracer_provider
    )
    _distributed.explicit = tracer_provider is not None
    _auto.decided = llama_index
    if llama_index:
        from reflow.observability._llama_index import llama_index_factory

        _removers.append(add_run_listener(llama_index_factory))


def uninstrument() -> None:
    """Stop observing runs started from now on (runs in flight keep their listeners)."""
    while _removers:
        _removers.pop()()
    _distributed.tracer = None
    _auto.decided = None


def is_instrumented() -> bool:
    return bool(_removers)
