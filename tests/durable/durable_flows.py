"""Workflows the durable tests run, in the test process and in worker subprocesses.

Both import this module as ``durable_flows`` (the worker runs with this directory on its
path), so event classes have the same qualified names everywhere.

Steps that must be checked for re-execution record every execution in a *side table*, a
separate SQLite file written in autocommit mode before the step does anything else: its row
id is the execution's id, and the step returns it inside its event, so a test can tell which
execution's result the journal kept.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import time

from reflow import Context, Workflow, step
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed

CHAIN_LENGTH = 8
FAN_OUT = 3
PROGRESS_PER_STEP = 2

SIDE_SCHEMA = """CREATE TABLE IF NOT EXISTS executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    key TEXT NOT NULL,
    pid INTEGER NOT NULL,
    started REAL NOT NULL
)"""


def record_execution(side: str, ctx: Context, step_name: str) -> int:
    """Write one execution row (committed at once); returns its id."""
    conn = sqlite3.connect(side, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(SIDE_SCHEMA)
        key = ctx.idempotency_key
        run_id = key.split(":", 1)[0]
        cursor = conn.execute(
            "INSERT INTO executions (run_id, step, key, pid, started) VALUES (?, ?, ?, ?, ?)",
            (run_id, step_name, key, os.getpid(), time.time()),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid
    finally:
        conn.close()


def executions(side: str) -> list[tuple[int, str, str, str, int, float]]:
    conn = sqlite3.connect(side, timeout=30)
    try:
        conn.execute(SIDE_SCHEMA)
        return list(
            conn.execute("SELECT id, run_id, step, key, pid, started FROM executions ORDER BY id")
        )
    finally:
        conn.close()


# The crash workflow: a fan-out, a fan-in, then a chain, every step recorded ------------------


class Begin(StartEvent):
    seed: int
    side: str


class Part(Event):
    index: int
    value: int
    exec_id: int


class PartDone(Event):
    index: int
    value: int
    exec_id: int


class Hop(Event):
    hop: int
    total: int
    exec_id: int


class Finished(StopEvent):
    total: int
    parts: int
    exec_id: int


class Progress(Event):
    step: str
    exec_id: int
    n: int


def hold_path(side: str) -> str:
    """While this file exists, every step waits after recording its execution (tests use it to
    kill a process at a moment when it certainly holds unfinished work)."""
    return side + ".hold"


async def _work(ctx: Context, side: str, step_name: str) -> int:
    exec_id = record_execution(side, ctx, step_name)
    while os.path.exists(hold_path(side)):
        await asyncio.sleep(0.01)
    for n in range(PROGRESS_PER_STEP):
        await asyncio.sleep(random.uniform(0.01, 0.05))
        ctx.write_event_to_stream(Progress(step=step_name, exec_id=exec_id, n=n))
    return exec_id


def expected_total(seed: int) -> int:
    parts = sum(seed * 10 + index for index in range(FAN_OUT))
    return parts + sum(range(1, CHAIN_LENGTH + 1))


class Crashy(Workflow):
    @step
    async def split(self, ev: Begin, ctx: Context) -> Part:
        await ctx.store.set("side", ev.side)
        exec_id = await _work(ctx, ev.side, "split")
        for index in range(1, FAN_OUT):
            ctx.send_event(Part(index=index, value=ev.seed * 10 + index, exec_id=exec_id))
        return Part(index=0, value=ev.seed * 10, exec_id=exec_id)

    @step(num_workers=FAN_OUT)
    async def part(self, ev: Part, ctx: Context) -> PartDone:
        exec_id = await _work(ctx, await ctx.store.get("side"), "part")
        return PartDone(index=ev.index, value=ev.value, exec_id=exec_id)

    @step
    async def join(self, ev: PartDone, ctx: Context) -> Hop | None:
        done = ctx.collect_events(ev, [PartDone] * FAN_OUT)
        if done is None:
            return None
        exec_id = await _work(ctx, await ctx.store.get("side"), "join")
        await ctx.store.set("parts", sum(d.value for d in done))
        return Hop(hop=1, total=sum(d.value for d in done) + 1, exec_id=exec_id)

    @step
    async def hop(self, ev: Hop, ctx: Context) -> Hop | Finished:
        exec_id = await _work(ctx, await ctx.store.get("side"), "hop")
        if ev.hop >= CHAIN_LENGTH:
            return Finished(total=ev.total, parts=await ctx.store.get("parts"), exec_id=exec_id)
        return Hop(hop=ev.hop + 1, total=ev.total + ev.hop + 1, exec_id=exec_id)


# Human in the loop ------------------------------------------------------------------------------


class Ask(StartEvent):
    question: str = "name?"


class Approval(Workflow):
    @step
    async def ask(self, ev: Ask, ctx: Context) -> StopEvent:
        await ctx.store.set("asked", ev.question)
        answer = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix=ev.question)
        )
        return StopEvent(result=f"{await ctx.store.get('asked')} {answer.response}")


# Timers ----------------------------------------------------------------------------------------


class Started(Event):
    """Published when a timer workflow reached the point where it waits on its timer."""

    name: str


class Later(Event):
    pass


class TimesOut(Workflow):
    """The run's own timeout ends it while its only step sleeps."""

    @step
    async def sleep(self, ev: StartEvent, ctx: Context) -> StopEvent:
        ctx.write_event_to_stream(Started(name="timeout"))
        await asyncio.sleep(3600)
        return StopEvent(result="woke")


class Flaky(Event):
    pass


class RetriesLater(Workflow):
    """Fails once; the retry policy runs it again after a delay."""

    @step(retry_policy=retry_policy(wait=wait_fixed(1.5), stop=stop_after_attempt(3)))
    async def flaky(self, ev: StartEvent, ctx: Context) -> StopEvent:
        side = await ctx.store.get("side", default=None) or ev.side
        await ctx.store.set("side", side)
        record_execution(side, ctx, "flaky")
        if ctx.retry_info().retry_number == 0:
            ctx.write_event_to_stream(Started(name="retry"))
            raise ValueError("first attempt fails")
        return StopEvent(result="retried")


class WaitTimesOut(Workflow):
    """wait_for_event gives up after its timeout."""

    @step
    async def wait(self, ev: StartEvent, ctx: Context) -> StopEvent:
        try:
            await ctx.wait_for_event(
                HumanResponseEvent, waiter_event=Started(name="wait"), timeout=1.5
            )
        except asyncio.TimeoutError:
            return StopEvent(result="gave up")
        return StopEvent(result="answered")


class StepTimesOut(Workflow):
    """A step's own timeout fails it."""

    @step(timeout=1.5)
    async def slow(self, ev: StartEvent, ctx: Context) -> StopEvent:
        ctx.write_event_to_stream(Started(name="step"))
        await asyncio.sleep(3600)
        return StopEvent(result="finished")


class SendsLater(Workflow):
    """A step sends an event with a delay; another step finishes the run when it arrives."""

    @step
    async def send(self, ev: StartEvent, ctx: Context) -> Later | None:
        await ctx.store.set("side", ev.side)
        ctx.send_event(Later(), delay=1.5)
        ctx.write_event_to_stream(Started(name="delay"))
        return None

    @step
    async def later(self, ev: Later, ctx: Context) -> StopEvent:
        record_execution(await ctx.store.get("side"), ctx, "later")
        return StopEvent(result="arrived")


RUN_TIMEOUT = 2.0


def timer_workflows(runtime: object) -> dict[str, Workflow]:
    """One workflow per kind of timer; both processes must build them the same way."""
    return {
        "timeout": TimesOut(runtime=runtime, timeout=RUN_TIMEOUT),  # type: ignore[arg-type]
        "retry": RetriesLater(runtime=runtime, timeout=None),  # type: ignore[arg-type]
        "wait": WaitTimesOut(runtime=runtime, timeout=None),  # type: ignore[arg-type]
        "step": StepTimesOut(runtime=runtime, timeout=None),  # type: ignore[arg-type]
        "delay": SendsLater(runtime=runtime, timeout=None),  # type: ignore[arg-type]
    }
