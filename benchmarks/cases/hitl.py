"""``hitl``: N runs parked on ``ctx.wait_for_event``, then all answered.

Each run's only step asks a question (an ``InputRequiredEvent`` on the stream) and waits for the
answer. Once every run has asked, the memory they hold is read twice: the Python heap traced by
``tracemalloc`` and the growth of the resident set. Then every run gets its answer and the clock
measures answers per second until all results are in.
"""

from __future__ import annotations

import asyncio
import gc
import time
import tracemalloc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from benchmarks._common import current_rss_bytes, emit, size_parser
from benchmarks._impl import (
    IMPL,
    VERSION,
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    step,
)

CASE = "hitl"
KIB = 1024


class Question(InputRequiredEvent):
    pass


class Answer(HumanResponseEvent):
    value: int


class AskOnce(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        answer = await ctx.wait_for_event(Answer, waiter_event=Question(), timeout=None)
        return StopEvent(result=answer.value)


@dataclass(frozen=True)
class Readings:
    heap_bytes: int
    rss_growth_bytes: int
    answer_seconds: float


async def until_asked(events: AsyncIterator[Event]) -> None:
    """Read a run's stream until its question shows up."""
    async for event in events:
        if isinstance(event, Question):
            return
    raise RuntimeError("hitl: a run ended without asking its question")


async def park_then_answer(workflow: AskOnce, n: int) -> Readings:
    """Start ``n`` runs, wait until all have asked, read memory, then answer run i with i."""
    gc.collect()
    rss_before = current_rss_bytes()
    tracemalloc.start()
    handlers = [workflow.run() for _ in range(n)]
    await asyncio.gather(*(until_asked(handler.stream_events()) for handler in handlers))
    gc.collect()
    heap_bytes, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_growth = current_rss_bytes() - rss_before
    started = time.perf_counter()
    for value, handler in enumerate(handlers):
        await handler.send_event(Answer(value=value))
    results = await asyncio.gather(*handlers)
    seconds = time.perf_counter() - started
    if results != list(range(n)):
        raise RuntimeError("hitl: some runs returned another run's answer")
    return Readings(heap_bytes, max(rss_growth, 0), seconds)


async def measure(n: int) -> dict[str, float]:
    """Park ``n`` runs, read their memory, then answer them all."""
    workflow = AskOnce(timeout=None)
    # A warm-up cycle keeps first-use costs (validation, lazy imports) out of the figures.
    await park_then_answer(workflow, 1)
    readings = await park_then_answer(workflow, n)
    return {
        "heap_kb_per_waiting_run": readings.heap_bytes / n / KIB,
        "rss_kb_per_waiting_run": readings.rss_growth_bytes / n / KIB,
        "answers_per_s": n / readings.answer_seconds,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = size_parser(__doc__ or CASE, default_n=2000).parse_args(argv)
    emit(CASE, IMPL, args.n, asyncio.run(measure(args.n)), version=VERSION)


if __name__ == "__main__":
    main()
