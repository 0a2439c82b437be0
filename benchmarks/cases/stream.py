"""``stream``: one step writes N events to the stream while the caller reads them.

Measures events per second from the first write to the caller holding the last event and the
run's result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from benchmarks._common import emit, size_parser
from benchmarks._impl import IMPL, VERSION, Context, Event, StartEvent, StopEvent, Workflow, step

CASE = "stream"


class StreamStart(StartEvent):
    n: int


class Tick(Event):
    index: int


class Streamer(Workflow):
    @step
    async def produce(self, ctx: Context, ev: StreamStart) -> StopEvent:
        for index in range(ev.n):
            ctx.write_event_to_stream(Tick(index=index))
        return StopEvent(result=ev.n)


async def consume(workflow: Streamer, n: int) -> int:
    """Run once with ``n`` events and return how many ``Tick`` events the caller received."""
    handler = workflow.run(start_event=StreamStart(n=n))
    received = 0
    async for event in handler.stream_events():
        if isinstance(event, Tick):
            received += 1
    await handler
    return received


async def measure(n: int) -> dict[str, float]:
    """Stream ``n`` events through one run after a tiny warm-up run."""
    workflow = Streamer(timeout=None)
    await consume(workflow, 2)
    started = time.perf_counter()
    received = await consume(workflow, n)
    seconds = time.perf_counter() - started
    if received != n:
        raise RuntimeError(f"stream: the caller received {received} of {n} events")
    return {"events_per_s": n / seconds}


def main(argv: Sequence[str] | None = None) -> None:
    args = size_parser(__doc__ or CASE, default_n=50_000).parse_args(argv)
    emit(CASE, IMPL, args.n, asyncio.run(measure(args.n)), version=VERSION)


if __name__ == "__main__":
    main()
