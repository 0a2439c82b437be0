"""The workflows the browser tests serve (and the CLI runs on the same journal)."""

from __future__ import annotations

from reflow import Context, Workflow, step
from reflow.events import HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent


class GreetStart(StartEvent):
    topic: str
    times: int = 1


class Greeter(Workflow):
    """Ask for a name, then greet that person."""

    @step
    async def ask(self, ctx: Context, ev: GreetStart) -> InputRequiredEvent:
        await ctx.store.set("asked_about", ev.topic)  # what the run page's state shows
        return InputRequiredEvent(prefix=f"Who is asking about {ev.topic}?")

    @step
    async def greet(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent(result=f"Hello, {ev.response}!")


class Rating(HumanResponseEvent):
    score: int
    comment: str = ""


class Rate(Workflow):
    """Asks for a score with the workflow's own response type."""

    @step
    async def ask(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="How was it, from 1 to 5?")

    @step
    async def thank(self, ev: Rating) -> StopEvent:
        return StopEvent(result=f"score {ev.score}: {ev.comment or 'no comment'}")


class Boom(Workflow):
    """Always fails."""

    @step
    async def explode(self, ev: StartEvent) -> StopEvent:
        raise ValueError("the fuse was lit")


class Quick(Workflow):
    """Finishes at once."""

    @step
    async def finish(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="done")


quick = Quick(timeout=None)  # what the CLI runs


def served() -> dict[str, Workflow]:
    """Fresh instances (a workflow keeps the runtime of the server it first ran on)."""
    return {
        "greet": Greeter(timeout=None),
        "rate": Rate(timeout=None),
        "boom": Boom(timeout=None),
        "quick": Quick(timeout=None),
    }
