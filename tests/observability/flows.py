"""Workflows the observability tests trace: one of each thing a span tree must show."""

from __future__ import annotations

import asyncio

from reflow import Context, Workflow, catch_error, step
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class Part(Event):
    index: int


class Done(Event):
    index: int


class Checked(Event):
    total: int


class Answered(Event):
    answer: str


class Everything(Workflow):
    """Fan-out to three workers (one flaky, retried), fan-in, ask a person, fail into a
    catch_error handler, and time out one step on the way."""

    flaky_failures = 1

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Part | None:
        for index in range(3):
            ctx.send_event(Part(index=index))
        return None

    @step(
        num_workers=3,
        retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)),
    )
    async def work(self, ctx: Context, ev: Part) -> Done:
        if ev.index == 1 and ctx.retry_info().retry_number < self.flaky_failures:
            raise ConnectionError("flaky")
        return Done(index=ev.index)

    @step
    async def join(self, ctx: Context, ev: Done) -> Checked | None:
        done = ctx.collect_events(ev, [Done, Done, Done])
        if done is None:
            return None
        return Checked(total=sum(item.index for item in done))  # type: ignore[attr-defined]

    @step
    async def ask(self, ctx: Context, ev: Checked) -> Answered:
        reply = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="ok?")
        )
        return Answered(answer=str(reply.response))

    @step(timeout=0.05)
    async def slow(self, ev: Answered) -> StopEvent:
        await asyncio.sleep(10)
        return StopEvent(result="unreachable")

    @catch_error(for_steps=["slow"])
    async def rescue(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result=f"rescued {ev.step_name}")


async def run_everything(workflow: Workflow | None = None) -> object:
    handler = (workflow or Everything(timeout=10)).run()
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="yes"))
    return await handler


class Fails(Workflow):
    @step
    async def boom(self, ev: StartEvent) -> StopEvent:
        raise ValueError("no good")


class Sleeps(Workflow):
    @step
    async def nap(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(10)
        return StopEvent(result="late")


class Quick(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=1)
