"""Waiters, round two: retries, opt-in subclasses, streams, unserializable requirements."""

from __future__ import annotations

import asyncio
from typing import Any

from compat_support import resume_from_snapshot_after_prompts

from reflow import Context, Workflow, step
from reflow.context.serializers import PickleSerializer
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
)
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed


async def _answer(handler: Any, *responses: str) -> list[str]:
    """Answer each prompt with the next response; the prompts' prefixes, in order."""
    prompts: list[str] = []
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            prompts.append(ev.prefix)
            await handler.send_event(HumanResponseEvent(response=responses[len(prompts) - 1]))
    return prompts


class RetriesAfterWaiting(Workflow):
    """The step fails once after its wait was answered; the retry finds the answer."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.failed = False
        self.waits = 0

    @step(retry_policy=retry_policy(stop=stop_after_attempt(3), wait=wait_fixed(0.01)))
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        got = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="q")
        )
        if not self.failed:
            self.failed = True
            raise RuntimeError("after the answer")
        return StopEvent(result=got.response)


async def test_an_implicit_waiter_survives_a_retry_of_its_step() -> None:
    handler = RetriesAfterWaiting(timeout=5).run()
    prompts = await _answer(handler, "first", "second")
    assert prompts == ["q"]
    assert await handler == "first"


class Answer(HumanResponseEvent):
    pass


class WaitsForBase(Workflow):
    @step(accept_event_subclasses=True)
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        got = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="q"), timeout=2
        )
        return StopEvent(result=type(got).__name__)


async def test_wait_for_event_accepts_subclasses_when_the_step_opts_in() -> None:
    handler = WaitsForBase(timeout=5).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(Answer(response="sub"))
    assert await handler == "Answer"


class Item(Event):
    n: int


class Done(Event):
    n: int
    answer: str


class WaitsInStream(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=0), Item(n=1)]

    @step(num_workers=2)
    async def work(self, ctx: Context, ev: Item) -> Done:
        got = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix=str(ev.n)),
            requirements={"user": str(ev.n)},
            timeout=2,
        )
        return Done(n=ev.n, answer=got.response)

    @step
    async def join(self, done: list[Done]) -> StopEvent:
        return StopEvent(result=sorted((d.n, d.answer) for d in done))


async def test_a_waiter_inside_a_list_stream_resumes_into_its_collector() -> None:
    handler = WaitsInStream(timeout=5).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response=f"a{ev.prefix}", user=ev.prefix))
    assert await handler == [(0, "a0"), (1, "a1")]


class Token:
    """A requirement value JSON cannot encode (pickle can)."""

    def __init__(self, value: str) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Token) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)


class WaitsForToken(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        got = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix="q"),
            waiter_id="token",  # an implicit id would embed the token's repr
            requirements={"token": Token("t")},
            timeout=5,
        )
        return StopEvent(result=got.response)


async def test_unserializable_requirements_work_in_memory() -> None:
    handler = WaitsForToken(timeout=5).run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="wrong", token=Token("x")))
            await handler.send_event(HumanResponseEvent(response="right", token=Token("t")))
    assert await handler == "right"


async def test_unserializable_requirements_survive_a_pickle_snapshot() -> None:
    workflow = WaitsForToken(timeout=5)
    handler = workflow.run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    await asyncio.sleep(0.01)
    data = handler.ctx.to_dict(serializer=PickleSerializer())
    await handler.cancel_run()
    restored = Context.from_dict(workflow, data, serializer=PickleSerializer())
    resumed = workflow.run(ctx=restored)
    await asyncio.sleep(0.05)
    resumed.ctx.send_event(HumanResponseEvent(response="wrong", token=Token("x")))
    resumed.ctx.send_event(HumanResponseEvent(response="right", token=Token("t")))
    assert await asyncio.wait_for(resumed, 5) == "right"


async def test_a_waiter_inside_a_list_stream_resumes_from_a_snapshot() -> None:
    resumed = await resume_from_snapshot_after_prompts(WaitsInStream(timeout=5), prompts=2)
    for n in ("0", "1"):
        resumed.ctx.send_event(HumanResponseEvent(response=f"a{n}", user=n))
    assert await asyncio.wait_for(resumed, 5) == [(0, "a0"), (1, "a1")]
