"""Finished runs leave nothing behind: a long-lived process returns to its baseline.

Users of the peer report servers whose memory grows with every run (timers and context
variables that keep finished runs alive, handlers never released).  These tests run 10,000
runs of several kinds in one process and then check, with weak references and the garbage
collector, that no workflow, handler, context or event of a finished run is still alive.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

from reflow import Context, Workflow, catch_error, step
from reflow.errors import WorkflowCancelledByUser
from reflow.events import Event, HumanResponseEvent, StartEvent, StepFailedEvent, StopEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed

RUNS = 10_000


class Item(Event):
    i: int


class Done(Event):
    i: int


class Tracked:
    """Weak references to every object a run created that the test could reach."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[Any]] = []

    def add(self, *objects: object) -> None:
        self.refs.extend(weakref.ref(obj) for obj in objects)

    def alive(self) -> list[object]:
        return [obj for obj in (ref() for ref in self.refs) if obj is not None]


class Busy(Workflow):
    """Each kind of run exercises other machinery: fan-out and collect, a delayed event,
    retries and ``@catch_error``, ``wait_for_event``, a failure, a cancellation."""

    def __init__(self, tracked: Tracked) -> None:
        super().__init__(timeout=5)
        self.tracked = tracked

    @step(retry_policy=retry_policy(stop=stop_after_attempt(2), wait=wait_fixed(0)))
    async def start(self, ctx: Context, ev: StartEvent) -> Item | StopEvent | None:
        self.tracked.add(ctx, ev)
        kind = ev.kind
        await ctx.store.set("kind", kind)
        if kind == "fan":
            ctx.send_event(Item(i=0))
            ctx.send_event(Item(i=1), delay=0)
            return None
        if kind == "ask":
            reply = await ctx.wait_for_event(HumanResponseEvent)
            return StopEvent(result=reply.response)
        if kind == "cancel":
            await asyncio.Event().wait()
        if kind in ("retry", "fail"):
            raise RuntimeError(kind)
        return StopEvent(result=kind)

    @step(num_workers=2)
    async def work(self, ctx: Context, ev: Item) -> Done:
        self.tracked.add(ctx, ev)
        return Done(i=ev.i)

    @step
    async def join(self, ctx: Context, ev: Done) -> StopEvent | None:
        self.tracked.add(ctx, ev)
        done = ctx.collect_events(ev, [Done, Done])
        return None if done is None else StopEvent(result=[d.i for d in done])


class Recovering(Busy):
    """``retry`` runs: the failing start step is retried once, then recovered."""

    @catch_error
    async def recover(self, ctx: Context, ev: StepFailedEvent) -> StopEvent:
        self.tracked.add(ctx, ev)
        return StopEvent(result="recovered")


KINDS = ["fan", "fan", "ask", "retry", "fail", "cancel"]


async def _one_run(kind: str, tracked: Tracked) -> None:
    workflow: Busy = Recovering(tracked) if kind == "retry" else Busy(tracked)
    handler = workflow.run(kind=kind)
    tracked.add(workflow, handler, handler.ctx)
    if kind == "ask":
        await handler.send_event(HumanResponseEvent(response="yes"))
    elif kind == "cancel":
        await asyncio.sleep(0)
        await handler.cancel_run()
    try:
        result = await handler
    except RuntimeError as error:
        assert (kind, str(error)) == ("fail", "fail")
        return
    except WorkflowCancelledByUser:
        assert kind == "cancel"
        return
    expected = {"fan": [0, 1], "ask": "yes", "retry": "recovered"}[kind]
    assert result == expected
    tracked.add(handler.get_stop_event())


def _reflow_objects() -> int:
    """How many objects of reflow's own classes the garbage collector tracks."""
    count = 0
    for obj in gc.get_objects():
        module = type(obj).__module__  # a property on a few C types, hence the check
        count += isinstance(module, str) and module.startswith("reflow.")
    return count


async def test_ten_thousand_finished_runs_leave_no_run_objects_alive() -> None:
    # Warm up caches that are filled once per process (type adapters, codecs, ...).
    for kind in KINDS:
        await _one_run(kind, Tracked())
    await asyncio.sleep(0)
    gc.collect()
    baseline_objects = len(gc.get_objects())
    baseline_reflow = _reflow_objects()

    tracked = Tracked()
    for index in range(RUNS):
        await _one_run(KINDS[index % len(KINDS)], tracked)
    await asyncio.sleep(0)
    gc.collect()

    assert len(tracked.refs) > 8 * RUNS // 2  # the runs really created what is checked
    still_alive = tracked.alive()
    assert still_alive == [], f"{len(still_alive)} objects of finished runs are still alive"
    assert gc.garbage == []
    assert asyncio.all_tasks() == {asyncio.current_task()}
    del tracked
    gc.collect()
    # Growth that does not scale with the number of runs (a handful of lazily built
    # objects) is fine; one leaked object per run would be 10,000.
    assert _reflow_objects() - baseline_reflow < 50
    assert len(gc.get_objects()) - baseline_objects < 500
