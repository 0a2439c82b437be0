"""``chain``: a linear chain of 20 steps, each handing one event to the next, run N times.

Measures the per-step cost of routing an event to a step and starting it: steps per second, and
the median latency of a whole run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from benchmarks._common import emit, percentile, size_parser
from benchmarks._impl import IMPL, VERSION, Event, StartEvent, StopEvent, Workflow, step

CASE = "chain"
CHAIN_LENGTH = 20
WARMUP_RUNS = 3


# Nineteen distinct event types link twenty distinct steps, so routing sees a realistic table.
class Hop01(Event): ...


class Hop02(Event): ...


class Hop03(Event): ...


class Hop04(Event): ...


class Hop05(Event): ...


class Hop06(Event): ...


class Hop07(Event): ...


class Hop08(Event): ...


class Hop09(Event): ...


class Hop10(Event): ...


class Hop11(Event): ...


class Hop12(Event): ...


class Hop13(Event): ...


class Hop14(Event): ...


class Hop15(Event): ...


class Hop16(Event): ...


class Hop17(Event): ...


class Hop18(Event): ...


class Hop19(Event): ...


class Chain(Workflow):
    @step
    async def step01(self, ev: StartEvent) -> Hop01:
        return Hop01()

    @step
    async def step02(self, ev: Hop01) -> Hop02:
        return Hop02()

    @step
    async def step03(self, ev: Hop02) -> Hop03:
        return Hop03()

    @step
    async def step04(self, ev: Hop03) -> Hop04:
        return Hop04()

    @step
    async def step05(self, ev: Hop04) -> Hop05:
        return Hop05()

    @step
    async def step06(self, ev: Hop05) -> Hop06:
        return Hop06()

    @step
    async def step07(self, ev: Hop06) -> Hop07:
        return Hop07()

    @step
    async def step08(self, ev: Hop07) -> Hop08:
        return Hop08()

    @step
    async def step09(self, ev: Hop08) -> Hop09:
        return Hop09()

    @step
    async def step10(self, ev: Hop09) -> Hop10:
        return Hop10()

    @step
    async def step11(self, ev: Hop10) -> Hop11:
        return Hop11()

    @step
    async def step12(self, ev: Hop11) -> Hop12:
        return Hop12()

    @step
    async def step13(self, ev: Hop12) -> Hop13:
        return Hop13()

    @step
    async def step14(self, ev: Hop13) -> Hop14:
        return Hop14()

    @step
    async def step15(self, ev: Hop14) -> Hop15:
        return Hop15()

    @step
    async def step16(self, ev: Hop15) -> Hop16:
        return Hop16()

    @step
    async def step17(self, ev: Hop16) -> Hop17:
        return Hop17()

    @step
    async def step18(self, ev: Hop17) -> Hop18:
        return Hop18()

    @step
    async def step19(self, ev: Hop18) -> Hop19:
        return Hop19()

    @step
    async def step20(self, ev: Hop19) -> StopEvent:
        return StopEvent(result=CHAIN_LENGTH)


async def measure(n: int) -> dict[str, float]:
    """Run the 20-step chain ``n`` times in a row."""
    workflow = Chain(timeout=None)
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
        "steps_per_s": n * CHAIN_LENGTH / total,
        "run_p50_ms": percentile(latencies, 0.50) * 1000,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = size_parser(__doc__ or CASE, default_n=200).parse_args(argv)
    emit(CASE, IMPL, args.n, asyncio.run(measure(args.n)), version=VERSION)


if __name__ == "__main__":
    main()
