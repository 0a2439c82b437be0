"""``traced``: the 20-step ``chain`` and the one-step ``sequential`` runs under observability.

``--variant`` picks what is switched on: ``off`` (nothing: the seam's cost only), ``noop``
(``reflow.observability.instrument()`` with no OpenTelemetry SDK installed), ``sdk`` (an SDK
tracer provider with an in-memory span exporter and an SDK meter provider with an in-memory
reader, so every span and metric point is really recorded), or ``llama``: a span handler on
llama-index-instrumentation's root dispatcher, which both engines report to (the peer always,
reflow while a handler listens), so that variant runs side by side with the peer; the other
variants are reflow only.  ``--shape`` picks the workflow and its metrics (the registry runs
``chain``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from benchmarks._common import emit, size_parser
from benchmarks._impl import IMPL, VERSION
from benchmarks.cases import chain, sequential

CASE = "traced"
VARIANTS = ("off", "noop", "sdk", "llama")
SHAPES: dict[str, Callable[[int], Awaitable[dict[str, float]]]] = {
    "chain": chain.measure,
    "sequential": sequential.measure,
}


def switch_on(variant: str) -> None:
    if variant == "off":
        return
    if variant == "llama":
        from llama_index_instrumentation import get_dispatcher
        from llama_index_instrumentation.span_handlers import SimpleSpanHandler

        get_dispatcher().add_span_handler(SimpleSpanHandler())
        return
    from reflow.observability import instrument

    if variant == "noop":
        instrument(llama_index=False)
        return
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, llama_index=False)


async def measure(n: int, variant: str, shape: str) -> dict[str, float]:
    """The ``chain`` or ``sequential`` case's own measurement, with ``variant`` switched on."""
    switch_on(variant)
    return await SHAPES[shape](n)


def main(argv: Sequence[str] | None = None) -> None:
    parser = size_parser(__doc__ or CASE, default_n=200)
    parser.add_argument("--variant", choices=VARIANTS, default="sdk")
    parser.add_argument("--shape", choices=tuple(SHAPES), default="chain")
    args = parser.parse_args(argv)
    metrics = asyncio.run(measure(args.n, args.variant, args.shape))
    emit(CASE, IMPL, args.n, metrics, variant=args.variant, version=VERSION)


if __name__ == "__main__":
    main()
