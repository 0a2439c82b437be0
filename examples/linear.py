"""Linear: three steps in a row, each handing a typed event to the next.

Shows the basic shape of a workflow: a typed start event with defaults (so it runs with no
arguments), custom events between steps, and a StopEvent whose ``result`` is what the run
returns.

    python examples/linear.py
    reflow run examples/linear.py:workflow --arg text="Hello, reflow"
"""

from __future__ import annotations

import asyncio

from reflow import Workflow, step
from reflow.events import Event, StartEvent, StopEvent


class TextInput(StartEvent):
    text: str = "Reflow runs each step as soon as its event arrives"


class Cleaned(Event):
    words: list[str]


class Counted(Event):
    words: list[str]
    counts: dict[str, int]


class WordCount(Workflow):
    """Split a text into words, count them, and report the most common ones."""

    @step
    async def clean(self, ev: TextInput) -> Cleaned:
        words = [w.strip(".,;:!?").lower() for w in ev.text.split()]
        return Cleaned(words=[w for w in words if w])

    @step
    async def count(self, ev: Cleaned) -> Counted:
        counts: dict[str, int] = {}
        for word in ev.words:
            counts[word] = counts.get(word, 0) + 1
        return Counted(words=ev.words, counts=counts)

    @step
    async def report(self, ev: Counted) -> StopEvent:
        top = sorted(ev.counts.items(), key=lambda item: (-item[1], item[0]))[:3]
        return StopEvent(result={"words": len(ev.words), "top": dict(top)})


workflow = WordCount(timeout=30)


async def run_example() -> None:
    result = await workflow.run(text="the cat saw the other cat")
    print(result)


def main() -> None:
    asyncio.run(run_example())


if __name__ == "__main__":
    main()
