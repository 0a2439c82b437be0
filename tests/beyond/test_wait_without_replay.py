"""``ctx.wait_for_event`` suspends the step instead of re-running it, and frees its worker slot.

The peer re-runs a waiting step from the top once the awaited event arrives, so code before
the call runs twice; its waiter ids are shared by the whole step, so a retried attempt gets the
previous attempt's answer back.  reflow parks the step's coroutine: the code before the call
runs once, the slot is free while it waits, and waiters belong to one attempt.
"""

from __future__ import annotations

from reflow import Context, Workflow, step
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed

from ._support import answer_prompts


class Job(Event):
    n: int


class Go(Event):
    n: int


class Finished(Event):
    n: int


class Done(Event):
    n: int


# -- code before the wait runs once -------------------------------------------------------


class AsksOnce(Workflow):
    def __init__(self) -> None:
        super().__init__(timeout=5)
        self.log: list[str] = []

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        self.log.append("before")
        reply = await ctx.wait_for_event(HumanResponseEvent, waiter_event=InputRequiredEvent())
        self.log.append("after")
        return StopEvent(result=reply.response)


async def test_code_before_wait_for_event_runs_once() -> None:
    workflow = AsksOnce()
    handler = workflow.run()
    await answer_prompts(handler, lambda prompt: HumanResponseEvent(response="yes"))
    assert await handler == "yes"
    assert workflow.log == ["before", "after"]


class AsksThreeTimes(Workflow):
    def __init__(self) -> None:
        super().__init__(timeout=5)
        self.log: list[str] = []

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        answers: list[str] = []
        for question in ("a", "b", "c"):
            self.log.append(f"before {question}")
            # The same event type and no requirements: the same default waiter id each time.
            reply = await ctx.wait_for_event(
                HumanResponseEvent, waiter_event=InputRequiredEvent(prefix=question)
            )
            answers.append(reply.response)
        self.log.append("end")
        return StopEvent(result=answers)


async def test_consecutive_waits_each_run_their_code_once_and_get_their_own_answer() -> None:
    workflow = AsksThreeTimes()
    handler = workflow.run()
    prompts = await answer_prompts(
        handler, lambda prompt: HumanResponseEvent(response=prompt.prefix.upper())
    )
    # The peer answers the second and third waits with the first reply (equal waiter ids).
    assert await handler == ["A", "B", "C"]
    assert [ev.prefix for ev in prompts if isinstance(ev, InputRequiredEvent)] == ["a", "b", "c"]
    assert workflow.log == ["before a", "before b", "before c", "end"]


# -- a waiting step does not hold a worker slot -----------------------------------------------


class OneSlot(Workflow):
    """``work`` has one worker; job 0 waits for ``Go`` while job 1 must still get through."""

    def __init__(self) -> None:
        super().__init__(timeout=5)
        self.started: list[int] = []

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Job | None:
        ctx.send_event(Job(n=0))
        ctx.send_event(Job(n=1))
        return None

    @step(num_workers=1)
    async def work(self, ctx: Context, ev: Job) -> Done:
        self.started.append(ev.n)
        if ev.n == 0:
            await ctx.wait_for_event(Go, waiter_event=InputRequiredEvent(prefix="go?"))
        ctx.write_event_to_stream(Finished(n=ev.n))
        return Done(n=ev.n)

    @step
    async def join(self, ctx: Context, ev: Done) -> StopEvent | None:
        done = ctx.collect_events(ev, [Done, Done])
        return None if done is None else StopEvent(result=[d.n for d in done])


async def test_a_waiting_attempt_frees_its_slot_for_the_next_event() -> None:
    workflow = OneSlot()
    handler = workflow.run()
    finished: list[int] = []
    async for event in handler.stream_events():
        if isinstance(event, Finished):
            finished.append(event.n)
            if event.n == 1:
                # Only now, with job 0 still waiting, let it go.  Were the slot held, job 1
                # could never finish and the run would time out.
                await handler.send_event(Go(n=0))
    assert finished == [1, 0]
    assert await handler == [1, 0]
    assert workflow.started == [0, 1]


class AllWaitOnOneSlot(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Job | None:
        for n in range(3):
            ctx.send_event(Job(n=n))
        return None

    @step(num_workers=1)
    async def work(self, ctx: Context, ev: Job) -> Done:
        go = await ctx.wait_for_event(
            Go, waiter_event=InputRequiredEvent(prefix=str(ev.n)), requirements={"n": ev.n}
        )
        return Done(n=go.n)

    @step
    async def join(self, ctx: Context, ev: Done) -> StopEvent | None:
        done = ctx.collect_events(ev, [Done] * 3)
        return None if done is None else StopEvent(result=sorted(d.n for d in done))


async def test_every_event_of_a_one_worker_step_can_be_waiting_at_once() -> None:
    handler = AllWaitOnOneSlot(timeout=5).run()
    waiting: list[str] = []
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            waiting.append(event.prefix)
            if len(waiting) == 3:  # all three asked before any of them got an answer
                for n in (2, 0, 1):
                    await handler.send_event(Go(n=n))
    assert sorted(waiting) == ["0", "1", "2"]
    assert await handler == [0, 1, 2]


# -- waiters belong to one attempt ------------------------------------------------------------


class Branches(Workflow):
    """Three fan-out branches wait with the same default waiter id at the same time."""

    def __init__(self) -> None:
        super().__init__(timeout=5)
        self.entered: list[int] = []

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Job | None:
        for n in range(3):
            ctx.send_event(Job(n=n))
        return None

    @step(num_workers=3)
    async def branch(self, ctx: Context, ev: Job) -> Done:
        self.entered.append(ev.n)
        await ctx.wait_for_event(HumanResponseEvent, waiter_event=InputRequiredEvent())
        return Done(n=ev.n)

    @step
    async def join(self, ctx: Context, ev: Done) -> StopEvent | None:
        done = ctx.collect_events(ev, [Done] * 3)
        return None if done is None else StopEvent(result=sorted(d.n for d in done))


async def test_equal_default_waiter_ids_in_fan_out_branches_do_not_collide() -> None:
    workflow = Branches()
    handler = workflow.run()
    prompts = 0
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            prompts += 1
            if prompts == 3:
                await handler.send_event(HumanResponseEvent(response="go"))
    # One matching event resolves every waiter that waits for it (as in the peer); what
    # matters is that none of the three equal waiter ids replaced another.
    assert await handler == [0, 1, 2]
    assert sorted(workflow.entered) == [0, 1, 2]


class RetriedAsk(Workflow):
    def __init__(self) -> None:
        super().__init__(timeout=5)
        self.answers: list[int] = []

    @step(retry_policy=retry_policy(stop=stop_after_attempt(2), wait=wait_fixed(0)))
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(Go, waiter_event=InputRequiredEvent())
        self.answers.append(reply.n)
        if ctx.retry_info().retry_number == 0:
            raise RuntimeError("the first attempt fails after its answer")
        return StopEvent(result=reply.n)


async def test_a_retried_attempt_reuses_the_answer_its_failed_attempt_received() -> None:
    workflow = RetriedAsk()
    handler = workflow.run()
    asked = 0

    def answer(prompt: InputRequiredEvent) -> Event:
        nonlocal asked
        asked += 1
        return Go(n=asked)

    await answer_prompts(handler, answer)
    # As the peer: the retry is handed the first attempt's event (1) without asking again.
    assert await handler == 1
    assert workflow.answers == [1, 1]
    assert asked == 1


# -- after a restore the step starts again (documented) -------------------------------------


class TwoQuestions(Workflow):
    def __init__(self) -> None:
        super().__init__(timeout=5)
        self.log: list[str] = []

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        self.log.append("before first")
        first = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="1")
        )
        self.log.append("before second")
        second = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="2")
        )
        return StopEvent(result=[first.response, second.response])


async def test_a_run_restored_from_a_snapshot_replays_completed_waits_from_their_record() -> None:
    original = TwoQuestions()
    handler = original.run()
    snapshot: dict[str, object] = {}
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent) and event.prefix == "1":
            await handler.send_event(HumanResponseEvent(response="one"))
        elif isinstance(event, InputRequiredEvent):
            assert handler.ctx is not None
            snapshot = handler.ctx.to_dict()
            await handler.cancel_run()
    assert original.log == ["before first", "before second"]

    restored = TwoQuestions()
    resumed = restored.run(ctx=Context.from_dict(restored, snapshot))
    await resumed.send_event(HumanResponseEvent(response="two"))
    assert await resumed == ["one", "two"]
    # Without the coroutine the step starts again: the code before each wait runs again and
    # the first wait returns its recorded answer without asking.
    assert restored.log == ["before first", "before second"]
