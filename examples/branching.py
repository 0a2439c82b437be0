"""Branching: one step returns one of two event types, and only the matching branch runs.

Shows a step whose return annotation is a union (``Even | Odd``): the engine routes the
returned event by its exact type, so each branch is an ordinary step.

    python examples/branching.py
    reflow run examples/branching.py:workflow --arg number=12
"""

from __future__ import annotations

import asyncio

from reflow import Workflow, step
from reflow.events import Event, StartEvent, StopEvent


class NumberInput(StartEvent):
    number: int = 7


class Even(Event):
    number: int


class Odd(Event):
    number: int


class Parity(Workflow):
    """Halve even numbers; send odd numbers through 3n + 1."""

    @step
    async def classify(self, ev: NumberInput) -> Even | Odd:
        if ev.number % 2 == 0:
            return Even(number=ev.number)
        return Odd(number=ev.number)

    @step
    async def halve(self, ev: Even) -> StopEvent:
        return StopEvent(result=f"{ev.number} is even; half of it is {ev.number // 2}")

    @step
    async def triple_plus_one(self, ev: Odd) -> StopEvent:
        return StopEvent(result=f"{ev.number} is odd; 3n + 1 is {3 * ev.number + 1}")


workflow = Parity(timeout=30)


async def run_example() -> None:
    for number in (4, 7):
        print(await workflow.run(number=number))


def main() -> None:
    asyncio.run(run_example())


if __name__ == "__main__":
    main()
