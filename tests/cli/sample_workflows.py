"""Small workflows the CLI tests run by file path (``tests/cli/sample_workflows.py:NAME``)."""

from __future__ import annotations

import asyncio
import os

from reflow import Context, Workflow, step
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
)
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class Greeting(StartEvent):
    name: str = "world"
    times: int = 1


class Hello(Workflow):
    """Greets ``name``, ``times`` times."""

    @step
    async def greet(self, ev: Greeting) -> StopEvent:
        return StopEvent(result=" ".join([f"hello {ev.name}"] * ev.times))


class Echo(Workflow):
    """Returns every start argument it was given (a plain StartEvent keeps them as-is)."""

    @step
    async def echo(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=dict(ev.items()))


class Progress(Event):
    done: int


class Streaming(Workflow):
    @step
    async def work(self, ev: StartEvent, ctx: Context) -> StopEvent:
        for done in (1, 2):
            ctx.write_event_to_stream(Progress(done=done))
        return StopEvent(result="streamed")


class Chatty(Workflow):
    """Streams a few thousand events: more output than a pipe holds."""

    @step
    async def talk(self, ev: StartEvent, ctx: Context) -> StopEvent:
        for done in range(3000):
            ctx.write_event_to_stream(Progress(done=done))
        return StopEvent(result="talked")


class Middle(Event):
    value: int


class Failing(Workflow):
    @step
    async def prepare(self, ev: StartEvent) -> Middle:
        return Middle(value=1)

    @step
    async def explode(self, ev: Middle) -> StopEvent:
        raise ValueError("kaboom")


class Retried(Workflow):
    """Fails every attempt: three of them, 0.05 s apart."""

    @step(retry_policy=retry_policy(wait=wait_fixed(0.05), stop=stop_after_attempt(3)))
    async def fetch(self, ev: StartEvent) -> StopEvent:
        raise ConnectionError("the server said no")


class Ask(Workflow):
    @step
    async def ask(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="Your name? ")

    @step
    async def answer(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=f"hi {ev.response}")


class AskTwice(Workflow):
    @step
    async def first(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="First? ")

    @step
    async def second(self, ev: HumanResponseEvent, ctx: Context) -> InputRequiredEvent | StopEvent:
        answers = [*await ctx.store.get("answers", default=[]), ev.response]
        await ctx.store.set("answers", answers)
        if len(answers) == 1:
            return InputRequiredEvent(prefix="Second? ")
        return StopEvent(result=answers)


class Slow(Workflow):
    @step
    async def sleep(self, ev: StartEvent) -> StopEvent:
        await asyncio.sleep(30)
        return StopEvent(result="woke up")


class Orphan(Event):
    pass


class Invalid(Workflow):
    """Valid to construct, but ``Orphan`` is produced and never consumed."""

    @step
    async def start(self, ev: StartEvent) -> Orphan | StopEvent:
        return StopEvent(result=None)


class CustomStop(StopEvent):
    total: int


class TypedResult(Workflow):
    @step
    async def finish(self, ev: StartEvent) -> CustomStop:
        return CustomStop(total=3)


hello = Hello(timeout=10)
slow = Slow(timeout=None)
not_a_workflow = 42


class Gated(StartEvent):
    gate: str


class AtGate(Event):
    gate: str


class Gate(Workflow):
    """Waits (up to 30 s) for the file ``gate`` to exist: a step to kill a process in."""

    @step
    async def prepare(self, ev: Gated) -> AtGate:
        return AtGate(gate=ev.gate)

    @step
    async def wait_for_gate(self, ev: AtGate) -> StopEvent:
        for _ in range(300):
            if os.path.exists(ev.gate):
                return StopEvent(result="through the gate")
            await asyncio.sleep(0.1)
        return StopEvent(result="gave up")
