"""``floor``: the ``chain`` and ``fanout`` shapes written with bare asyncio, no engine at all.

Every engine step costs at least a queue hand-off and a task switch; these programs do only that,
so their figures are the interpreter's limit for each shape. Comparing ``chain`` and ``fanout``
with them shows how much of an engine's time is its own bookkeeping.

- ``--shape chain``: 20 long-lived stage tasks linked by queues; N runs pass one token through
  all 20 stages, one run after another (steps per second, like ``chain``).
- ``--shape fanout``: one producer puts N items on a queue, 8 workers move them to a result
  queue, one collector counts N (seconds, like ``fanout``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from benchmarks._common import emit, percentile, size_parser

CASE = "floor"
IMPL = "asyncio"
SHAPES = ("chain", "fanout")
CHAIN_LENGTH = 20
WORKERS = 8


async def _stage(inbox: asyncio.Queue[int], outbox: asyncio.Queue[int]) -> None:
    while True:
        token = await inbox.get()
        await outbox.put(token + 1)


async def measure_chain(n: int) -> dict[str, float]:
    """Pass ``n`` tokens, one at a time, through a pipeline of 20 stage tasks."""
    queues: list[asyncio.Queue[int]] = [asyncio.Queue() for _ in range(CHAIN_LENGTH + 1)]
    stages = [asyncio.create_task(_stage(queues[i], queues[i + 1])) for i in range(CHAIN_LENGTH)]
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        run_started = time.perf_counter()
        await queues[0].put(0)
        hops = await queues[-1].get()
        latencies.append(time.perf_counter() - run_started)
        if hops != CHAIN_LENGTH:
            raise RuntimeError(f"floor chain: the token made {hops} hops, expected {CHAIN_LENGTH}")
    total = time.perf_counter() - started
    for stage in stages:
        stage.cancel()
    await asyncio.gather(*stages, return_exceptions=True)
    return {
        "steps_per_s": n * CHAIN_LENGTH / total,
        "run_p50_ms": percentile(latencies, 0.50) * 1000,
    }


async def _worker(work: asyncio.Queue[int], done: asyncio.Queue[int]) -> None:
    while True:
        item = await work.get()
        await done.put(item)


async def _collect(done: asyncio.Queue[int], n: int) -> int:
    count = 0
    while count < n:
        await done.get()
        count += 1
    return count


async def measure_fanout(n: int) -> dict[str, float]:
    """Scatter ``n`` items over 8 worker tasks and count them back in."""
    work: asyncio.Queue[int] = asyncio.Queue()
    done: asyncio.Queue[int] = asyncio.Queue()
    started = time.perf_counter()
    workers = [asyncio.create_task(_worker(work, done)) for _ in range(WORKERS)]
    collector = asyncio.create_task(_collect(done, n))
    for item in range(n):
        work.put_nowait(item)
    count = await collector
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    if count != n:
        raise RuntimeError(f"floor fanout: collected {count} of {n} items")
    return {"seconds": seconds}


def main(argv: Sequence[str] | None = None) -> None:
    parser = size_parser(__doc__ or CASE, default_n=200)
    parser.add_argument("--shape", choices=SHAPES, default="chain")
    args = parser.parse_args(argv)
    measure = measure_chain if args.shape == "chain" else measure_fanout
    emit(CASE, IMPL, args.n, asyncio.run(measure(args.n)), variant=args.shape)


if __name__ == "__main__":
    main()
