"""Workflows the server tests serve (a module, so their events have import paths)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from reflow import Context, Workflow, step
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
)


class Mid(Event):
    x: int


class Progress(Event):
    n: int


class Poke(HumanResponseEvent):
    x: int


class GreetStart(StartEvent):
    name: str


class GateStart(StartEvent):
    gate: str


class ThreeSteps(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Mid:
        return Mid(x=1)

    @step
    async def second(self, ctx: Context, ev: Mid) -> Progress:
        ctx.write_event_to_stream(Progress(n=ev.x))
        return Progress(n=ev.x + 1)

    @step
    async def third(self, ev: Progress) -> StopEvent:
        return StopEvent(result=f"done {ev.n}")


class Greet(Workflow):
    @step
    async def hello(self, ev: GreetStart) -> StopEvent:
        return StopEvent(result={"greeting": f"hello {ev.name}"})


class Ask(Workflow):
    """Waits for a person's answer, then asks again once; publishes what it got."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        first = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="first?")
        )
        ctx.write_event_to_stream(Progress(n=1))
        second = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="second?")
        )
        return StopEvent(result=f"{first.response}+{second.response}")


class Fails(Workflow):
    @step
    async def boom(self, ev: StartEvent) -> StopEvent:
        raise ValueError("boom went the step")


class Slow(Workflow):
    """Ticks a progress event every 50 ms, 40 times (long enough to cancel or stream)."""

    @step
    async def tick(self, ctx: Context, ev: StartEvent) -> StopEvent:
        for n in range(40):
            ctx.write_event_to_stream(Progress(n=n))
            await asyncio.sleep(0.05)
        return StopEvent(result="slow done")

    @step
    async def poked(self, ev: Poke) -> None:
        """Accepts ``Poke`` sent from outside (so the test can send a typed event)."""


class PatientAsk(Ask):
    """``Ask`` without a run timeout: a test may take its time between the two answers."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**{"timeout": None, **options})


class Gated(Workflow):
    """Ticks 40 progress events and, after the third, waits for the file ``gate`` to exist.

    A run a test can kill mid-step at a known point, however slow the machine is.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**{"timeout": None, **options})

    @step
    async def tick(self, ctx: Context, ev: GateStart) -> StopEvent:
        for n in range(40):
            ctx.write_event_to_stream(Progress(n=n))
            while n == 2 and not os.path.exists(ev.gate):
                await asyncio.sleep(0.02)
        return StopEvent(result="gated done")


def all_workflows() -> dict[str, Workflow]:
    return {
        "three": ThreeSteps(),
        "greet": Greet(),
        "ask": Ask(),
        "fails": Fails(),
        "slow": Slow(timeout=None),
    }


HUMAN_TEXT = "not a workflow"
