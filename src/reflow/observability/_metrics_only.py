"""``metrics_listener_factory``: reflow's metrics into a meter provider of one's own, no spans.

For an exporter that owns its provider (the server's ``/metrics``): the runs are measured
whether or not ``instrument()`` was called, and an application's tracing setup is neither
needed nor changed.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import metrics, trace

from reflow.observability._dbos_metrics import make_queue_depth_gauge
from reflow.observability._factory import otel_factory
from reflow.runtime.listeners import RunListener


class _MetricsOnly(RunListener):
    """Feeds the instruments, but keeps its (non-recording) spans out of the steps' context.

    The observability listener makes each step attempt's span current; this one's spans are
    no-ops, so its attempt runs in a throwaway copy of the context, leaving the current span to
    a tracing setup the application may have.
    """

    def __init__(self, inner: RunListener) -> None:
        self._inner = inner

    def on_tick(self, state: Any, tick: Any, commands: Sequence[Any]) -> None:
        self._inner.on_tick(state, tick, commands)

    def on_attempt(self, call: Any) -> None:
        contextvars.copy_context().run(self._inner.on_attempt, call)

    def on_journal_write(self, ticks: int, seconds: float) -> None:
        self._inner.on_journal_write(ticks, seconds)

    def on_done(self, result: Any) -> None:
        self._inner.on_done(result)


def metrics_listener_factory(
    meter_provider: metrics.MeterProvider,
) -> Callable[[Any, Any], RunListener | None]:
    """A run-listener factory recording reflow's metrics into ``meter_provider`` and no spans.

    Register it with ``reflow.runtime.listeners.add_run_listener``.  Building it also creates
    the ``reflow.dbos.queue.depth`` gauge on ``meter_provider`` (it reports only while a
    ``DBOSRuntime`` runs in the process).
    """
    make_queue_depth_gauge(meter_provider)
    make = otel_factory(trace.NoOpTracerProvider(), meter_provider)

    def factory(driver: Any, workflow: Any) -> RunListener | None:
        inner = make(driver, workflow)
        return None if inner is None else _MetricsOnly(inner)

    return factory
