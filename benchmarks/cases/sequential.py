"""``sequential``: a one-step workflow run N times, one after the other.

Measures the fixed cost of a run (start, one step, stop, result): runs per second and the median
and 99th-percentile latency of a single run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from benchmarks._common import emit, percentile, size_parser
from benchmarks._impl import IMPL, VERSION, StartEvent, StopEvent, Workflow, step

CASE = "sequential"
# Runs before the clock starts, so one-off work (validation, first imports) is not counted.
WARMUP_RUNS = 3


class OneStep(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=1)


async def measure(n: int) -> dict[str, float]:
    """Run the one-step workflow ``n`` times in a row and time each run."""
    workflow = OneStep(timeout=None)
    for _ in range(WARMUP_RUNS):
        await workflow.run()
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        run_started = time.perf_counter()
        await workflow.run()
        latencies.append(time.perf_counter() - run_started)
    total = time.perf_counter() - started
    return {
        "runs_per_s": n / total,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = size_parser(__doc__ or CASE, default_n=2000).parse_args(argv)
    emit(CASE, IMPL, args.n, asyncio.run(measure(args.n)), version=VERSION)


if __name__ == "__main__":
    main()
