"""``concurrent``: N runs started at once, each three steps that sleep 10 ms.

The sleeps overlap, so an ideal engine finishes in about 30 ms whatever N is; the wall time above
that is the engine's cost of keeping N runs in flight. Also reports the process's peak RSS and
how far it grew over the baseline taken before the runs started.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Sequence

from benchmarks._common import emit, peak_rss_bytes, size_parser
from benchmarks._impl import IMPL, VERSION, Event, StartEvent, StopEvent, Workflow, step

CASE = "concurrent"
SLEEP_SECONDS = 0.01
MIB = 1024 * 1024


class Slept1(Event): ...


class Slept2(Event): ...


class ThreeSleeps(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Slept1:
        await asyncio.sleep(SLEEP_SECONDS)
        return Slept1()

    @step
    async def second(self, ev: Slept1) -> Slept2:
        await asyncio.sleep(SLEEP_SECONDS)
        return Slept2()

    @step
    async def third(self, ev: Slept2) -> StopEvent:
        await asyncio.sleep(SLEEP_SECONDS)
        return StopEvent(result=3)


async def measure(n: int) -> dict[str, float]:
    """Start ``n`` runs at once and wait for all of them."""
    workflow = ThreeSleeps(timeout=None)
    await workflow.run()
    gc.collect()
    baseline = peak_rss_bytes()
    started = time.perf_counter()
    handlers = [workflow.run() for _ in range(n)]
    results = await asyncio.gather(*handlers)
    seconds = time.perf_counter() - started
    if results != [3] * n:
        raise RuntimeError("concurrent: some runs did not return 3")
    peak = peak_rss_bytes()
    return {
        "seconds": seconds,
        "peak_rss_mb": peak / MIB,
        "rss_growth_mb": (peak - baseline) / MIB,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = size_parser(__doc__ or CASE, default_n=1000).parse_args(argv)
    emit(CASE, IMPL, args.n, asyncio.run(measure(args.n)), version=VERSION)


if __name__ == "__main__":
    main()
