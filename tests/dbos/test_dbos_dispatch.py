"""How step executions travel: enqueued in batches, their results announced by NOTIFY."""

from __future__ import annotations

import psycopg
from conftest import MakeRuntime, rows

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
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    runtime = make_runtime(distribute_steps=True)
    workflow = Spray(runtime=runtime, timeout=60)
    await runtime.launch()
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
    # The twenty attempts the one tick started went into DBOS in one batch insert: one stamp.
    stamps = rows(
        dsn,
        f"{schema}_dbos",
        "SELECT DISTINCT created_at FROM workflow_status WHERE workflow_uuid LIKE 'spray:work:%%'",
    )
    assert len(stamps) == 1
