"""A workflow that takes answers until it is told to stop, for the inbox tests."""

from __future__ import annotations

from reflow import Context, Workflow, step
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent


class Note(Event):
    text: str


class Collector(Workflow):
    """Asks again after every answer; the answer ``stop`` ends the run with all answers."""

    @step
    async def begin(self, ev: StartEvent) -> InputRequiredEvent | Note:
        # Note is declared for validation only: notes come from outside.
        return InputRequiredEvent(prefix="next? ")

    @step
    async def answer(self, ev: HumanResponseEvent, ctx: Context) -> InputRequiredEvent | StopEvent:
        answers = [*await ctx.store.get("answers", default=[]), ev.response]
        await ctx.store.set("answers", answers)
        if ev.response == "stop":
            return StopEvent(result=answers)
        return InputRequiredEvent(prefix="next? ")

    @step
    async def note(self, ev: Note, ctx: Context) -> None:
        await ctx.store.set("notes", [*await ctx.store.get("notes", default=[]), ev.text])
