"""``traced``: the 20-step ``chain`` and the one-step ``sequential`` runs under observability.

``--variant`` picks what is switched on: ``off`` (nothing: the seam's cost only), ``noop``
(``reflow.observability.instrument()`` with no OpenTelemetry SDK installed) or ``sdk`` (an SDK
tracer provider with an in-memory span exporter and an SDK meter provider with an in-memory
reader, so every span and metric point is really recorded).  ``--shape`` picks the workflow.
reflow only: the peer has no OpenTelemetry switch of its own to compare with.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from benchmarks._common import emit, percentile, size_parser
from benchmarks._impl import IMPL, VERSION, Workflow
from benchmarks.cases.chain import CHAIN_LENGTH, Chain
from benchmarks.cases.sequential import OneStep

CASE = "traced"
VARIANTS = ("off", "noop", "sdk")
SHAPES = {"chain": (Chain, CHAIN_LENGTH), "sequential": (OneStep, 1)}
WARMUP_RUNS = 3


def switch_on(variant: str) -> None:
    if variant == "off":
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
    switch_on(variant)
    workflow_class, steps = SHAPES[shape]
    workflow: Workflow = workflow_class(timeout=None)
    for _ in range(WARMUP_RUNS):
        await workflow.run()
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        run_started = time.perf_counter()
        await workflow.run()
        latencies.append(time.perf_counter() - run_started)
    total = time.perf_counter() - started
    return {"steps_per_s": n * steps / total, "run_p50_ms": percentile(latencies, 0.50) * 1000}


def main(argv: Sequence[str] | None = None) -> None:
    parser = size_parser(__doc__ or CASE, default_n=200)
    parser.add_argument("--variant", choices=VARIANTS, default="sdk")
    parser.add_argument("--shape", choices=tuple(SHAPES), default="chain")
    args = parser.parse_args(argv)
    metrics = asyncio.run(measure(args.n, args.variant, args.shape))
    emit(CASE, IMPL, args.n, metrics, variant=args.variant, version=VERSION)


if __name__ == "__main__":
    main()
