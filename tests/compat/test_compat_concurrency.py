"""Concurrency: worker slots per step, worker ids, PREPARING notices, concurrent runs."""

from __future__ import annotations

import asyncio

import pytest
from compat_support import step_states

from reflow import Context, Workflow, step
from reflow.errors import WorkflowValidationError
from reflow.events import Event, StartEvent, StepState, StepStateChanged, StopEvent

# Gates the tests open to let a given job finish; created fresh per test.
_gates: dict[int, asyncio.Event] = {}


class Job(Event):
    n: int


class JobDone(Event):
    n: int


class GatedPool(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Job | None:
        for n in range(ev.jobs):
            ctx.send_event(Job(n=n))
        return None

    @step(num_workers=2)
    async def work(self, ev: Job) -> JobDone:
        await _gates[ev.n].wait()
        return JobDone(n=ev.n)

    @step(num_workers=1)
    async def finish(self, ctx: Context, ev: JobDone) -> StopEvent | None:
        done = ctx.collect_events(ev, [JobDone] * int(await ctx.store.get("jobs")))
        if done is None:
            return None
        return StopEvent(result=[d.n for d in done])


async def _run_gated(release_order: list[int]) -> tuple[list[StepStateChanged], object]:
    """Run GatedPool (2 workers), releasing jobs in ``release_order`` one at a time.

    The next job is released only once the pool is stable: every released job has finished
    and the queued job that took its slot has started.
    """
    total = len(release_order)
    _gates.clear()
    _gates.update({n: asyncio.Event() for n in range(total)})
    workflow = GatedPool(timeout=2)
    ctx = Context(workflow)
    await ctx.store.set("jobs", total)
    handler = workflow.run(ctx=ctx, jobs=total)
    seen: list[StepStateChanged] = []
    released = 0
    async for ev in handler.stream_events(expose_internal=True):
        if not (isinstance(ev, StepStateChanged) and ev.name == "work"):
            continue
        seen.append(ev)
        count = {state: 0 for state in StepState}
        for s in seen:
            count[s.step_state] += 1
        stable = (
            count[StepState.NOT_RUNNING] == released
            and count[StepState.RUNNING] == min(2 + released, total)
            and (released > 0 or count[StepState.PREPARING] == max(total - 2, 0))
        )
        if stable and released < total:
            _gates[release_order[released]].set()
            released += 1
    return seen, await handler


async def test_worker_ids_start_at_zero_and_queued_events_publish_preparing() -> None:
    seen, result = await _run_gated([0, 1, 2])
    states = step_states(seen)
    assert states[:3] == [
        ("work", "running", "0"),
        ("work", "running", "1"),
        ("work", "preparing", "<enqueued>"),
    ]
    # One collecting worker: same-type events come back in completion order.
    assert result == [0, 1, 2]


async def test_a_freed_slot_is_reused_as_the_lowest_free_worker_id() -> None:
    # Job 1 (worker 1) finishes first, so job 2 takes worker 1 while worker 0 is still busy.
    seen, result = await _run_gated([1, 0, 2])
    running = [(s.worker_id, s.input_event_name) for s in seen if s.step_state is StepState.RUNNING]
    assert [w for w, _ in running] == ["0", "1", "1"]
    assert all(name == "Job" for _, name in running)
    assert result == [1, 0, 2]


async def test_preparing_event_carries_the_bare_input_class_name() -> None:
    seen, _ = await _run_gated([0, 1, 2, 3])
    preparing = [s for s in seen if s.step_state is StepState.PREPARING]
    assert len(preparing) == 2
    assert {(p.input_event_name, p.output_event_name) for p in preparing} == {("Job", None)}


# Opened once the expected number of workers are inside ``work`` at the same time.
_full: dict[str, asyncio.Event] = {}


class PeakCounter(Workflow):
    """Runs ``jobs`` jobs; each waits until ``expect`` are active, so the peak is exact."""

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Job | None:
        await ctx.store.set("active", 0)
        await ctx.store.set("peak", 0)
        await ctx.store.set("jobs", ev.jobs)
        await ctx.store.set("expect", ev.expect)
        for n in range(ev.jobs):
            ctx.send_event(Job(n=n))
        return None

    async def _occupy(self, ctx: Context) -> None:
        async with ctx.store.edit_state() as state:
            state["active"] += 1
            state["peak"] = max(state["peak"], state["active"])
            if state["active"] >= state["expect"]:
                _full["gate"].set()
        await _full["gate"].wait()
        # Give any worker beyond the cap a chance to start, so an over-limit pool is caught.
        await asyncio.sleep(0.002)
        async with ctx.store.edit_state() as state:
            state["active"] -= 1

    @step(num_workers=3)
    async def work(self, ctx: Context, ev: Job) -> JobDone:
        await self._occupy(ctx)
        return JobDone(n=ev.n)

    @step
    async def finish(self, ctx: Context, ev: JobDone) -> StopEvent | None:
        jobs = int(await ctx.store.get("jobs"))
        if ctx.collect_events(ev, [JobDone] * jobs) is None:
            return None
        return StopEvent(result=await ctx.store.get("peak"))


async def test_num_workers_caps_the_number_of_concurrent_invocations() -> None:
    _full["gate"] = asyncio.Event()
    assert await PeakCounter(timeout=2).run(jobs=7, expect=3) == 3


class DefaultPool(PeakCounter):
    @step
    async def work(self, ctx: Context, ev: Job) -> JobDone:
        await self._occupy(ctx)
        return JobDone(n=ev.n)


async def test_default_num_workers_is_four() -> None:
    _full["gate"] = asyncio.Event()
    assert await DefaultPool(timeout=2).run(jobs=6, expect=4) == 4


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2"])
def test_num_workers_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(WorkflowValidationError) as info:

        class Bad(Workflow):
            @step(num_workers=bad)  # type: ignore[arg-type]
            async def start(self, ev: StartEvent) -> StopEvent:
                return StopEvent()

    assert str(info.value) == "num_workers must be an integer greater than 0"


class Trivial(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=ev.get("tag"))


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_num_concurrent_runs_is_validated_at_construction(bad: object) -> None:
    with pytest.raises(WorkflowValidationError) as info:
        Trivial(num_concurrent_runs=bad)  # type: ignore[arg-type]
    assert str(info.value) == "num_concurrent_runs must be an integer greater than 0 or None"


_run_gate: dict[str, asyncio.Event] = {}


class SerialRuns(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent:
        _run_gate[ev.tag].set()
        await _run_gate["release"].wait()
        return StopEvent(result=ev.tag)


def _fresh_run_gates(*tags: str) -> None:
    _run_gate.clear()
    _run_gate.update({name: asyncio.Event() for name in ("release", *tags)})


async def test_num_concurrent_runs_holds_back_extra_runs_of_the_same_instance() -> None:
    _fresh_run_gates("a", "b")
    workflow = SerialRuns(timeout=2, num_concurrent_runs=1)
    first = workflow.run(tag="a")
    second = workflow.run(tag="b")
    await asyncio.wait_for(_run_gate["a"].wait(), 1)
    await asyncio.sleep(0.01)
    assert not _run_gate["b"].is_set()
    _run_gate["release"].set()
    assert await first == "a"
    assert await second == "b"


async def test_separate_instances_do_not_share_the_concurrent_run_limit() -> None:
    _fresh_run_gates("a", "b")
    first = SerialRuns(timeout=2, num_concurrent_runs=1).run(tag="a")
    second = SerialRuns(timeout=2, num_concurrent_runs=1).run(tag="b")
    await asyncio.wait_for(_run_gate["a"].wait(), 1)
    await asyncio.wait_for(_run_gate["b"].wait(), 1)
    _run_gate["release"].set()
    assert (await first, await second) == ("a", "b")


async def test_many_concurrent_runs_of_one_instance_keep_separate_results() -> None:
    workflow = Trivial(timeout=2)
    handlers = [workflow.run(tag=i) for i in range(10)]
    assert await asyncio.gather(*handlers) == list(range(10))
    assert len({h.run_id for h in handlers}) == 10
