"""``fanout``: one step emits N events, a pool of 8 workers handles them, one step fans them in.

Three ways to fan in, chosen with ``--variant``:

- ``collect``: the collector buffers results with ``ctx.collect_events(ev, expected)`` (the same
  ``[Done] * n`` list on every call);
- ``state``: the collector counts results in typed state and stops at N;
- ``list``: the producer returns ``list[Work]`` and the collector takes ``list[Done]``.

Measures the wall time of one run of size N (seconds, lower is better).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from pydantic import BaseModel

from benchmarks._common import emit, size_parser
from benchmarks._impl import IMPL, VERSION, Context, Event, StartEvent, StopEvent, Workflow, step

CASE = "fanout"
VARIANTS = ("collect", "state", "list")
WORKERS = 8


class FanStart(StartEvent):
    n: int


class Work(Event):
    index: int


class Done(Event):
    index: int


_EXPECTED: dict[int, list[type[Event]]] = {}


class CollectFanout(Workflow):
    @step
    async def scatter(self, ctx: Context, ev: FanStart) -> Work | None:
        await ctx.store.set("n", ev.n)
        for index in range(ev.n):
            ctx.send_event(Work(index=index))
        return None

    @step(num_workers=WORKERS)
    async def work(self, ev: Work) -> Done:
        return Done(index=ev.index)

    @step
    async def gather(self, ctx: Context, ev: Done) -> StopEvent | None:
        n: int = await ctx.store.get("n")
        # Built once per size: rebuilding an n-long list on every call is itself O(n^2).
        expected = _EXPECTED.get(n)
        if expected is None:
            expected = _EXPECTED[n] = [Done] * n
        done = ctx.collect_events(ev, expected)
        if done is None:
            return None
        return StopEvent(result=len(done))


class Tally(BaseModel):
    expected: int = 0
    seen: int = 0


class StateFanout(Workflow):
    @step
    async def scatter(self, ctx: Context[Tally], ev: FanStart) -> Work | None:
        async with ctx.store.edit_state() as tally:
            tally.expected = ev.n
        for index in range(ev.n):
            ctx.send_event(Work(index=index))
        return None

    @step(num_workers=WORKERS)
    async def work(self, ev: Work) -> Done:
        return Done(index=ev.index)

    @step
    async def gather(self, ctx: Context[Tally], ev: Done) -> StopEvent | None:
        async with ctx.store.edit_state() as tally:
            tally.seen += 1
            finished = tally.seen == tally.expected
            seen = tally.seen
        return StopEvent(result=seen) if finished else None


class ListFanout(Workflow):
    @step
    async def scatter(self, ev: FanStart) -> list[Work]:
        return [Work(index=index) for index in range(ev.n)]

    @step(num_workers=WORKERS)
    async def work(self, ev: Work) -> Done:
        return Done(index=ev.index)

    @step
    async def gather(self, done: list[Done]) -> StopEvent:
        return StopEvent(result=len(done))


WORKFLOWS: dict[str, type[Workflow]] = {
    "collect": CollectFanout,
    "state": StateFanout,
    "list": ListFanout,
}


async def measure(n: int, variant: str) -> dict[str, float]:
    """Time one fan-out run of size ``n`` after a tiny warm-up run."""
    workflow = WORKFLOWS[variant](timeout=None)
    await workflow.run(start_event=FanStart(n=2))
    started = time.perf_counter()
    result = await workflow.run(start_event=FanStart(n=n))
    seconds = time.perf_counter() - started
    if result != n:
        raise RuntimeError(f"fanout[{variant}] collected {result!r} results, expected {n}")
    return {"seconds": seconds}


def main(argv: Sequence[str] | None = None) -> None:
    parser = size_parser(__doc__ or CASE, default_n=1000)
    parser.add_argument("--variant", choices=VARIANTS, default="collect")
    args = parser.parse_args(argv)
    metrics = asyncio.run(measure(args.n, args.variant))
    emit(CASE, IMPL, args.n, metrics, variant=args.variant, version=VERSION)


if __name__ == "__main__":
    main()
