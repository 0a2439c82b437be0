"""``durable``: the engine's shapes on ``reflow.durable.DurableRuntime`` (SQLite, NORMAL).

Every tick is committed to a journal in a temporary directory before its commands run, so each
step pays for a commit that the in-memory runtime does not. Shapes, chosen with ``--shape``:

- ``three``: a three-step run, N runs one after another (``runs_per_s``, ``p50_ms``: the
  latency of one durable run) and then N runs started at once (``concurrent_runs_per_s``:
  their ticks share commits, which is how a busy service runs).
- ``sequential``: the in-memory ``sequential`` case (one step) on the journal.
- ``chain``: the in-memory ``chain`` case (20 steps in a row) on the journal.
- ``fanout``: ``fanout[collect]`` on the journal.
- ``hitl``: the ``hitl`` case on the journal; runs waiting for an answer are released from
  memory after ``release_idle_after`` (0.05 s here), and reloaded when it comes.

The peer has no durable mode without DBOS, so this case runs on reflow only.
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from benchmarks._common import current_rss_bytes, emit, percentile, size_parser
from benchmarks._impl import IMPL, VERSION, Event, StartEvent, StopEvent, Workflow, step
from benchmarks.cases import chain, fanout, hitl, sequential

CASE = "durable"
SHAPES = ("three", "sequential", "chain", "fanout", "hitl")
WARMUP_RUNS = 3


class Priced(Event):
    cents: int


class Taxed(Event):
    cents: int


class ThreeSteps(Workflow):
    @step
    async def price(self, ev: StartEvent) -> Priced:
        return Priced(cents=100 * ev.qty)

    @step
    async def tax(self, ev: Priced) -> Taxed:
        return Taxed(cents=ev.cents * 120 // 100)

    @step
    async def total(self, ev: Taxed) -> StopEvent:
        return StopEvent(result=ev.cents)


async def _timed_runs(n: int, run: Callable[[int], Awaitable[object]]) -> tuple[float, list[float]]:
    latencies: list[float] = []
    started = time.perf_counter()
    for i in range(n):
        run_started = time.perf_counter()
        await run(i)
        latencies.append(time.perf_counter() - run_started)
    return time.perf_counter() - started, latencies


async def _three(runtime: object, n: int) -> dict[str, float]:
    workflow = ThreeSteps(runtime=runtime, timeout=None)  # type: ignore[arg-type]
    for i in range(WARMUP_RUNS):
        await workflow.run(qty=i)
    total, latencies = await _timed_runs(n, lambda i: workflow.run(qty=i))
    started = time.perf_counter()
    results = await asyncio.gather(*(workflow.run(qty=i) for i in range(n)))
    concurrent = time.perf_counter() - started
    if results != [i * 120 for i in range(n)]:
        raise RuntimeError("durable[three]: wrong results")
    return {
        "runs_per_s": n / total,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "concurrent_runs_per_s": n / concurrent,
    }


async def _sequential(runtime: object, n: int) -> dict[str, float]:
    workflow = sequential.OneStep(runtime=runtime, timeout=None)  # type: ignore[arg-type]
    for _ in range(WARMUP_RUNS):
        await workflow.run()
    total, latencies = await _timed_runs(n, lambda i: workflow.run())
    return {
        "runs_per_s": n / total,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
    }


async def _chain(runtime: object, n: int) -> dict[str, float]:
    workflow = chain.Chain(runtime=runtime, timeout=None)  # type: ignore[arg-type]
    for _ in range(WARMUP_RUNS):
        await workflow.run()
    total, latencies = await _timed_runs(n, lambda i: workflow.run())
    return {
        "steps_per_s": n * chain.CHAIN_LENGTH / total,
        "run_p50_ms": percentile(latencies, 0.50) * 1000,
    }


async def _fanout(runtime: object, n: int) -> dict[str, float]:
    workflow = fanout.CollectFanout(runtime=runtime, timeout=None)  # type: ignore[arg-type]
    await workflow.run(start_event=fanout.FanStart(n=2))
    started = time.perf_counter()
    result = await workflow.run(start_event=fanout.FanStart(n=n))
    if result != n:
        raise RuntimeError(f"durable[fanout] collected {result!r} results, expected {n}")
    return {"seconds": time.perf_counter() - started}


async def _hitl(runtime: object, n: int) -> dict[str, float]:
    """``hitl.park_then_answer``, reading memory once the parked runs have been released."""
    workflow = hitl.AskOnce(runtime=runtime, timeout=None)  # type: ignore[arg-type]
    await hitl.park_then_answer(workflow, 1)
    gc.collect()
    rss_before = current_rss_bytes()
    tracemalloc.start()
    handlers = [workflow.run() for _ in range(n)]
    await asyncio.gather(*(hitl.until_asked(handler.stream_events()) for handler in handlers))
    manager = runtime._manager  # type: ignore[attr-defined]
    while manager.live or manager._tasks:  # until every run is released from memory
        await asyncio.sleep(0.01)
    gc.collect()
    heap_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = max(current_rss_bytes() - rss_before, 0)
    started = time.perf_counter()
    for value, handler in enumerate(handlers):
        await handler.send_event(hitl.Answer(value=value))
    results = await asyncio.gather(*handlers)
    seconds = time.perf_counter() - started
    if results != list(range(n)):
        raise RuntimeError("durable[hitl]: some runs returned another run's answer")
    return {
        "heap_kb_per_waiting_run": heap_bytes / n / hitl.KIB,
        "rss_kb_per_waiting_run": rss_growth / n / hitl.KIB,
        "answers_per_s": n / seconds,
    }


SHAPE_RUNNERS: dict[str, Callable[[object, int], Awaitable[dict[str, float]]]] = {
    "three": _three,
    "sequential": _sequential,
    "chain": _chain,
    "fanout": _fanout,
    "hitl": _hitl,
}


async def measure(n: int, shape: str) -> dict[str, float]:
    """Run ``shape`` at size ``n`` on a fresh journal in a temporary directory."""
    if IMPL != "reflow":
        raise RuntimeError("the durable case runs on reflow only")
    from reflow.durable import DurableRuntime

    with tempfile.TemporaryDirectory(prefix="reflow-bench-") as directory:
        release = 0.05 if shape == "hitl" else None
        runtime = DurableRuntime(Path(directory) / "runs.db", release_idle_after=release)
        await runtime.launch()
        try:
            return await SHAPE_RUNNERS[shape](runtime, n)
        finally:
            await runtime.destroy()


def main(argv: Sequence[str] | None = None) -> None:
    parser = size_parser(__doc__ or CASE, default_n=1000)
    parser.add_argument("--shape", choices=SHAPES, default="three")
    args = parser.parse_args(argv)
    metrics = asyncio.run(measure(args.n, args.shape))
    emit(CASE, IMPL, args.n, metrics, variant=args.shape, version=VERSION)


if __name__ == "__main__":
    main()
