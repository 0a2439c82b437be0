"""``otel_factory``: the run-listener factory of a tracer and a meter provider.

What ``instrument()``, ``capture_spans()`` and ``metrics_listener_factory()`` register with
``reflow.runtime.listeners.add_run_listener``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import _internal as _metrics_api

from reflow._version import __version__
from reflow.observability._attributes import INSTRUMENTATION_SCOPE
from reflow.observability._durable_trace import trace_store_for
from reflow.observability._listener import OtelRunListener
from reflow.observability._metrics import Instruments, make_instruments
from reflow.runtime.listeners import RunListener

_NO_OP = frozenset({"ProxyTracerProvider", "NoOpTracerProvider", "NoOpMeterProvider"})


def sdk_configured() -> bool:
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
        if not explicit and not sdk_configured():
            return None
        parent = otel_context.get_current()
        store = trace_store_for(workflow)
        on_run_span = None
        if store is not None:
            parent = store.parent_for(driver.run_id, parent)
            on_run_span = store.recorder(driver.run_id)
        return OtelRunListener(driver, workflow, tracer, instruments, parent, on_run_span)

    return factory
