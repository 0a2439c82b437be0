"""``instrument()``: turn reflow's OpenTelemetry traces and metrics (and the peer's
llama-index-instrumentation spans) on for every run started afterwards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as _metrics_api

from reflow._version import __version__
from reflow.observability import _auto, _distributed
from reflow.observability._attributes import INSTRUMENTATION_SCOPE
from reflow.observability._dbos_metrics import make_queue_depth_gauge
from reflow.observability._listener import OtelRunListener
from reflow.observability._metrics import Instruments, make_instruments
from reflow.observability._trace_store import trace_store_for
from reflow.runtime.listeners import RunListener, add_run_listener

_removers: list[Callable[[], None]] = []


_NO_OP = frozenset({"ProxyTracerProvider", "NoOpTracerProvider", "NoOpMeterProvider"})


def _sdk_configured() -> bool:
    """Whether an application installed a tracer or meter provider (an SDK) globally.

    Until one does, the API's providers are proxies that record nothing, so reflow skips the
    run entirely instead of feeding them.  This runs once per run: it reads the globals the
    API sets when a provider is installed, because the public getters look the environment
    up on every call (``instrument()`` calls them once, which loads providers named there).
    """
    tracer_provider = getattr(trace, "_TRACER_PROVIDER", None)
    meter_provider = getattr(_metrics_api, "_METER_PROVIDER", None)
    return (tracer_provider is not None and type(tracer_provider).__name__ not in _NO_OP) or (
        meter_provider is not None and type(meter_provider).__name__ not in _NO_OP
    )


def otel_factory(
    tracer_provider: trace.TracerProvider | None,
    meter_provider: metrics.MeterProvider | None,
) -> Callable[[Any, Any], RunListener | None]:
    tracer = trace.get_tracer(INSTRUMENTATION_SCOPE, __version__, tracer_provider=tracer_provider)
    instruments: Instruments = make_instruments(meter_provider)
    explicit = tracer_provider is not None or meter_provider is not None

    def factory(driver: Any, workflow: Any) -> RunListener | None:
        if not explicit and not _sdk_configured():
            return None
        parent = otel_context.get_current()
        store = trace_store_for(workflow)
        on_run_span = None
        if store is not None:
            parent = store.parent_for(driver.run_id, parent)
            on_run_span = store.recorder(driver.run_id)
        return OtelRunListener(driver, workflow, tracer, instruments, parent, on_run_span)

    return factory


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
