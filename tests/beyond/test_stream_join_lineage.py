"""Inside a ``list[E]`` stream, a multi-slot join pairs the branches of one member.

Each member of a returned list starts a lineage; everything derived from it carries it, and a
step joining ``a: A, b: B`` pairs an ``A`` with a ``B`` of the same lineage, whatever order
the branches finish in (one branch here waits for a human first).  The pairing survives a
snapshot taken while a member waits.
"""

from __future__ import annotations

import asyncio

from tests.compat.compat_support import resume_from_snapshot_after_prompts

from reflow import Context, Workflow, step
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent


class Item(Event):
    n: int


class Left(Event):
    n: int


class Right(Event):
    n: int


class Pair(Event):
    left: int
    right: int


class Branches(Workflow):
    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=i) for i in range(3)]

    @step(num_workers=4)
    async def to_left(self, ctx: Context, ev: Item) -> Left:
        if ev.n < 2:  # members 0 and 1 finish their left branch last
            await ctx.wait_for_event(
                HumanResponseEvent,
                waiter_event=InputRequiredEvent(prefix=str(ev.n)),
                requirements={"user": str(ev.n)},
                timeout=5,
            )
        return Left(n=ev.n)

    @step(num_workers=4)
    async def to_right(self, ev: Item) -> Right:
        return Right(n=ev.n)

    @step(num_workers=4)
    async def pair(self, a: Left, b: Right) -> Pair:
        return Pair(left=a.n, right=b.n)

    @step
    async def join(self, pairs: list[Pair]) -> StopEvent:
        return StopEvent(result=sorted((p.left, p.right) for p in pairs))


async def _answer_in_reverse(handler: object) -> None:
    prompts: list[str] = []
    async for ev in handler.stream_events():  # type: ignore[attr-defined]
        if isinstance(ev, InputRequiredEvent):
            prompts.append(ev.prefix)
            if len(prompts) == 2:
                for user in reversed(prompts):
                    await handler.send_event(  # type: ignore[attr-defined]
                        HumanResponseEvent(response="ok", user=user)
                    )


async def test_joins_pair_the_branches_of_one_member() -> None:
    handler = Branches(timeout=5).run()
    await _answer_in_reverse(handler)
    assert await handler == [(0, 0), (1, 1), (2, 2)]


async def test_the_pairing_survives_a_snapshot_taken_while_members_wait() -> None:
    resumed = await resume_from_snapshot_after_prompts(Branches(timeout=5), prompts=2)
    for user in ("1", "0"):
        resumed.ctx.send_event(HumanResponseEvent(response="ok", user=user))
    assert await asyncio.wait_for(resumed, 5) == [(0, 0), (1, 1), (2, 2)]
