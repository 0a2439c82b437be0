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
from reflow.dbos._dispatch import StepFailed, step_channel
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


def record_inserting_transactions(dsn: str, schema: str) -> None:
    """Record in ``inserted_by`` the transaction id that inserts each tick and each DBOS
    execution row (``xmin`` would not do: a later update of the row replaces it)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE inserted_by (id TEXT, xid BIGINT)")
        conn.execute(
            "CREATE FUNCTION record_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f' INSERT INTO "{schema}".inserted_by VALUES'
            " (coalesce(to_jsonb(NEW) ->> 'run_id', to_jsonb(NEW) ->> 'workflow_uuid'),"
            " txid_current()); RETURN NULL; END $$"
        )
        conn.execute(
            "CREATE TRIGGER record_insert AFTER INSERT ON ticks"
            " FOR EACH ROW EXECUTE FUNCTION record_insert()"
        )
        conn.execute(
            f'CREATE TRIGGER record_insert AFTER INSERT ON "{schema}_dbos".workflow_status'
            f' FOR EACH ROW EXECUTE FUNCTION "{schema}".record_insert()'
        )


async def test_attempts_are_enqueued_in_the_transaction_of_the_tick_that_starts_them(
    make_runtime: MakeRuntime, dsn: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = make_runtime(distribute_steps=True)
    workflow = Spray(runtime=runtime, timeout=60)
    await runtime.launch()
    record_inserting_transactions(dsn, schema)
    separate: list[list[str]] = []
    insert = SystemDatabase.init_workflows

    def recording(self: Any, statuses: list[Any], *args: Any, **kwargs: Any) -> Any:
        separate.append([status["workflow_uuid"] for status in statuses])
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
    # No execution was enqueued on its own, after its tick ...
    assert separate == []
    # ... but by the journal's transaction that appended the tick starting it: the twenty
    # work attempts' rows were inserted by one PostgreSQL transaction, which also inserted
    # ticks of the run.
    enqueued = rows(
        dsn, schema, "SELECT DISTINCT xid FROM inserted_by WHERE id LIKE 'spray:work:%'"
    )
    assert len(enqueued) == 1
    ticks = rows(dsn, schema, "SELECT xid FROM inserted_by WHERE id = 'spray'")
    assert enqueued[0] in ticks


async def test_a_process_that_only_enqueues_declares_no_queue(
    make_runtime: MakeRuntime, dsn: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Queues are declared by the processes that serve them, when they launch; not per
    attempt (each declaration is several round trips: 2,000 of them once delayed a 2,000-step
    fan-out by seconds), and never by a process that only enqueues (a declaration writes the
    queue's limits for the whole cluster)."""
    runtime = make_runtime(distribute_steps=True)
    await runtime.launch()  # before the workflow is built: it serves none of its queues
    declared: list[str] = []
    original = DBOS.register_queue_async

    async def counting(name: str, **options: Any) -> Any:
        declared.append(name)
        return await original(name, **options)

    monkeypatch.setattr(DBOS, "register_queue_async", counting)
    workflow = Spray(runtime=runtime, timeout=60)
    workflow.run(run_id="quiet", start_event=Many(n=50))
    waiting = "SELECT count(*) FROM workflow_status WHERE workflow_uuid LIKE 'quiet:%%'"
    for _ in range(200):  # the first step's execution waits for a process serving its queue
        if rows(dsn, f"{schema}_dbos", waiting) == [(1,)]:
            break
        await asyncio.sleep(0.05)
    assert rows(dsn, f"{schema}_dbos", waiting) == [(1,)]
    assert declared == []
    await runtime.cancel_run("quiet")


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


class Refuse(Workflow):
    @step(retry_policy=None)
    async def refuse(self, ev: Number) -> StopEvent:  # no Context: runs through its queue
        raise ValueError(f"no to {ev.n}")


async def test_a_remote_steps_error_reaches_the_driver_as_raised(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime(distribute_steps=True)
    workflow = Refuse(runtime=runtime, timeout=60)
    await runtime.launch()
    with pytest.raises(ValueError, match="no to 7"):
        await workflow.run(run_id="refused", start_event=Number(n=7))


async def test_an_execution_cancelled_in_dbos_fails_its_step(
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    """An execution that ends without an outcome of its own (cancelled through DBOS while it
    waited in its queue) fails the step with ``StepFailed``, naming it."""
    runtime = make_runtime(distribute_steps=True)
    await runtime.launch()  # before the workflow is built: it serves none of its queues
    workflow = Double(runtime=runtime, timeout=60)
    handler = workflow.run(run_id="dropped", start_event=Number(n=3))
    waiting = "SELECT workflow_uuid FROM workflow_status WHERE workflow_uuid LIKE 'dropped:%%'"
    for _ in range(200):
        if found := rows(dsn, f"{schema}_dbos", waiting):
            break
        await asyncio.sleep(0.05)
    [(execution,)] = found
    await DBOS.cancel_workflow_async(execution)
    with pytest.raises(StepFailed, match=f"step execution {execution} ended CANCELLED"):
        await handler


async def test_awaited_executions_are_not_polled_while_listen_is_up(
    make_runtime: MakeRuntime, dsn: str, schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The results of executions come by NOTIFY; the poll of every awaited execution is the
    fallback for a LISTEN connection that is down (a 2,000-step fan-out would otherwise read
    2,000 ids twice a second for nothing)."""
    from reflow.dbos import _dispatch

    runtime = make_runtime(distribute_steps=True)
    await runtime.launch()  # serves none of the queues: the execution waits, unfinished
    reads: list[int] = []
    read = _dispatch._read_finished

    def counting(query: Any, ids: list[str]) -> Any:
        reads.append(len(ids))
        return read(query, ids)

    monkeypatch.setattr(_dispatch, "_read_finished", counting)
    workflow = Double(runtime=runtime, timeout=60)
    workflow.run(run_id="unread", start_event=Number(n=1))
    waiting = "SELECT count(*) FROM workflow_status WHERE workflow_uuid LIKE 'unread:%%'"
    for _ in range(200):
        if rows(dsn, f"{schema}_dbos", waiting) == [(1,)]:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(2.0)  # four fallback periods
    assert reads == []
    await runtime.cancel_run("unread")
