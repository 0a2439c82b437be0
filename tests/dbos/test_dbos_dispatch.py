"""How step executions travel: enqueued in batches, their results announced by NOTIFY."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest
from conftest import MakeRuntime, rows
from dbos import DBOS
from dbos._sys_db import SystemDatabase

from reflow import Context, Workflow, step
from reflow.dbos._dispatch import step_channel
from reflow.events import Event, StartEvent, StopEvent


class Many(StartEvent):
    n: int


class One(Event):
    i: int


class Got(Event):
    i: int


class Spray(Workflow):
    @step
    async def spray(self, ev: Many, ctx: Context) -> One | None:
        await ctx.store.set("n", ev.n)
        for i in range(ev.n):
            ctx.send_event(One(i=i))
        return None

    @step(num_workers=20)
    async def work(self, ev: One) -> Got:
        return Got(i=ev.i)

    @step
    async def join(self, ev: Got, ctx: Context) -> StopEvent | None:
        done = ctx.collect_events(ev, [Got] * await ctx.store.get("n"))
        return None if done is None else StopEvent(result=sorted(g.i for g in done))  # type: ignore[attr-defined]


async def test_attempts_started_together_are_enqueued_in_one_transaction_and_announced(
    make_runtime: MakeRuntime, dsn: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make_runtime(distribute_steps=True)
    workflow = Spray(runtime=runtime, timeout=60)
    await runtime.launch()
    batches: list[list[str]] = []
    insert = SystemDatabase.init_workflows

    def recording(self: Any, statuses: list[Any], *args: Any, **kwargs: Any) -> Any:
        batches.append([status["workflow_uuid"] for status in statuses])
        return insert(self, statuses, *args, **kwargs)

    monkeypatch.setattr(SystemDatabase, "init_workflows", recording)
    listener = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
    async with listener:
        await listener.execute(f'LISTEN "{step_channel(schema)}"')
        assert await workflow.run(run_id="spray", start_event=Many(n=20)) == list(range(20))
        announced: set[str] = set()
        # The generator ends by itself (a ``break`` would leave it holding the connection).
        async for note in listener.notifies(timeout=10.0, stop_after=21):
            announced.add(note.payload)
    # Every execution (the spray step and the twenty work steps) was announced once finished.
    assert {key.split(":")[1] for key in announced} == {"spray", "work"}
    assert len(announced) == 21
    # The twenty attempts the one tick started went into DBOS in one batch insert.
    work = [batch for batch in batches if any(":work:" in key for key in batch)]
    assert len(work) == 1 and len(work[0]) == 20
    # DBOS stamps a batch's rows in order (distinct ``created_at``): the queue is claimed
    # in the order the attempts started.
    stamps = rows(
        dsn,
        f"{schema}_dbos",
        "SELECT created_at FROM workflow_status WHERE workflow_uuid LIKE 'spray:work:%%'"
        " ORDER BY created_at",
    )
    assert len({stamp for (stamp,) in stamps}) == 20


async def test_a_queue_is_declared_once_however_many_attempts_ask_at_once(
    make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fan-out's first attempts all need their step's queue: one declaration serves them
    (each declaration is several round trips; 2,000 of them delayed a fan-out by seconds)."""
    runtime = make_runtime(distribute_steps=True)
    await runtime.launch()
    declared: list[str] = []
    original = DBOS.register_queue_async

    async def counting(name: str, **options: Any) -> Any:
        declared.append(name)
        await asyncio.sleep(0.05)  # a slow database: the other attempts ask meanwhile
        return await original(name, **options)

    monkeypatch.setattr(DBOS, "register_queue_async", counting)
    cluster = runtime._cluster
    assert cluster is not None
    names = await asyncio.gather(*(cluster.register_queue("fan", "out", 3) for _ in range(50)))
    assert set(names) == {"reflow:fan:out"}
    assert declared == ["reflow:fan:out"]


class Number(StartEvent):
    n: int


class Double(Workflow):
    @step
    async def double(self, ev: Number) -> StopEvent:  # no Context: runs through its queue
        return StopEvent(result=ev.n * 2)


async def test_pruning_forgets_the_step_records_so_a_run_id_can_be_used_again(
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    """An attempt's key is its DBOS workflow id: a new run under a pruned run's id would
    otherwise attach to the old run's finished executions and get their results."""
    runtime = make_runtime(distribute_steps=True)
    workflow = Double(runtime=runtime, timeout=60)
    await runtime.launch()
    assert await workflow.run(run_id="again", start_event=Number(n=1)) == 2
    assert await runtime.prune(0) == 1
    left = "SELECT count(*) FROM workflow_status WHERE workflow_uuid LIKE 'again:%%'"
    assert rows(dsn, f"{schema}_dbos", left) == [(0,)]
    assert await workflow.run(run_id="again", start_event=Number(n=5)) == 10
