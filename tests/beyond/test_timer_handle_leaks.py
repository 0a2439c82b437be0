"""Finished runs are not pinned by asyncio timer handles.

asyncio keeps a cancelled ``TimerHandle`` in its heap until the handle's due time whenever a
live timer is due earlier, and the handle keeps the ``contextvars.Context`` it was armed in.
Steps arm such timers all the time (``asyncio.wait_for`` around a client call), so whatever a
step's context variables hold must not keep its workflow, context or run alive.  (The peer,
2.26.1, still holds its step worker and run containers in those contexts.)
"""

from __future__ import annotations

import asyncio
import gc
import sys
import types
import weakref
from collections import deque
from typing import Any

from reflow import Context, Workflow, step
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from reflow.handler import WorkflowHandler
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed

RUNS = 12


class Asked(Event):
    pass


class Later(Event):
    pass


class Flaky(Event):
    pass


class Busy(Workflow):
    """Default timeout (45 s); each step arms a timer of its own the way user code does."""

    failures = 0

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Asked | Later:
        done = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(done.set_result, None)
        await asyncio.wait_for(done, timeout=30)
        ctx.send_event(Later(), delay=0.001)
        return Asked()

    @step
    async def ask(self, ctx: Context, ev: Asked) -> Flaky:
        Context.get_step_context()
        await asyncio.wait_for(asyncio.sleep(0), timeout=30)
        await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix="?"),
            waiter_id="q",
            timeout=40,
        )
        return Flaky()

    @step(retry_policy=retry_policy(stop=stop_after_attempt(2), wait=wait_fixed(0.001)))
    async def flaky(self, ev: Flaky) -> StopEvent:
        await asyncio.wait_for(asyncio.sleep(0), timeout=30)
        type(self).failures += 1
        if type(self).failures % 2:
            raise RuntimeError("once")
        return StopEvent(result="ok")

    @step
    async def later(self, ev: Later) -> None:
        Context.get_step_context()


def _reachable(root: object, targets: tuple[type, ...], limit: int = 20_000) -> list[object]:
    """Objects of ``targets`` reachable from ``root`` (modules and classes not followed)."""
    found: list[object] = []
    seen: set[int] = {id(root)}
    todo: deque[object] = deque([root])
    module_dicts = {id(vars(m)) for m in list(sys.modules.values()) if m}
    while todo and len(seen) < limit:
        obj = todo.popleft()
        for ref in gc.get_referents(obj):
            if id(ref) in seen or isinstance(ref, (type, types.ModuleType)):
                continue
            if id(ref) in module_dicts:
                continue
            seen.add(id(ref))
            if isinstance(ref, targets):
                found.append(ref)
            todo.append(ref)
    return found


async def _one_run(refs: list[weakref.ref[Any]]) -> None:
    workflow = Busy()
    handler = workflow.run()
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            await handler.send_event(HumanResponseEvent(response="yes"))
    assert await handler == "ok"
    refs.extend([weakref.ref(workflow), weakref.ref(handler), weakref.ref(handler.ctx)])


async def test_no_run_is_reachable_from_scheduled_timer_handles() -> None:
    loop = asyncio.get_running_loop()
    # A live timer due before every run's own timers keeps cancelled handles in the heap,
    # as a server's keep-alive or another long run does.
    keep_alive = loop.call_later(1, lambda: None)
    refs: list[weakref.ref[Any]] = []
    try:
        for _ in range(RUNS):
            await _one_run(refs)
        for _ in range(3):  # let the loop finalize the finished stream generators
            await asyncio.sleep(0)
        gc.collect()
        scheduled: list[Any] = list(getattr(loop, "_scheduled", []))
        contexts = [h._context for h in scheduled if getattr(h, "_context", None) is not None]
        # The runs did leave cancelled handles armed in their steps' contexts behind.
        assert len(contexts) >= RUNS
        pinned = [
            obj
            for context in contexts
            for obj in _reachable(context, (Workflow, Context, WorkflowHandler))
        ]
        assert pinned == []
        # Nothing of a finished run is alive at all.
        assert [ref() for ref in refs if ref() is not None] == []
    finally:
        keep_alive.cancel()
