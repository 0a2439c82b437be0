"""Human in the loop: the workflow pauses, asks a person a question, and resumes with the answer.

Shows the two built-in events for this: a step returns an ``InputRequiredEvent`` (it is
published to the event stream), and whoever drives the run answers with a
``HumanResponseEvent``, which starts the next step.  ``reflow run`` asks at the terminal.

    python examples/human_in_the_loop.py
    reflow run examples/human_in_the_loop.py:workflow
"""

from __future__ import annotations

import asyncio

from reflow import Workflow, step
from reflow.events import HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent


class Greeter(Workflow):
    """Ask for a name, then greet that person."""

    @step
    async def ask(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent(prefix="What is your name? ")

    @step
    async def greet(self, ev: HumanResponseEvent) -> StopEvent:
        name = str(ev.response).strip() or "stranger"
        return StopEvent(result=f"Hello, {name}!")


# No run timeout: a person may take their time to answer.
workflow = Greeter(timeout=None)


async def run_example() -> None:
    handler = workflow.run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            answer = await asyncio.to_thread(input, ev.prefix)
            await handler.send_event(HumanResponseEvent(response=answer))
    print(await handler)


def main() -> None:
    asyncio.run(run_example())


if __name__ == "__main__":
    main()
