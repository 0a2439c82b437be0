"""The journal's writes lock one run, not the whole schema.

Another PostgreSQL session (what another process of the cluster is to the database) holding
run A's lock leaves every write to run B free, and only a write to run A waits for it.
"""

from __future__ import annotations

import asyncio

import psycopg
from conftest import MakeRuntime, rows

from reflow import Workflow, step
from reflow.dbos._locks import plan, run_key, schema_key
from reflow.durable._leases import Reap, Register
from reflow.durable._ops import PostToInbox, Prune
from reflow.events import StartEvent, StopEvent


class Quick(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="done")


def hold(dsn: str, key: str, *, hashed: str = "hashtextextended(%s, 0)") -> psycopg.Connection:
    """A session holding the advisory lock of ``key`` until it commits."""
    conn = psycopg.connect(dsn)
    conn.execute(f"SELECT pg_advisory_xact_lock({hashed})", (key,))
    return conn


async def test_a_held_run_lock_blocks_only_writes_to_that_run(
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    runtime = make_runtime()
    await runtime.launch()
    workflow = Quick(runtime=runtime, timeout=30)
    holder = hold(dsn, run_key(schema, "run-a"))
    try:
        # Run B starts, runs and finishes while run A's lock is held elsewhere.
        assert await asyncio.wait_for(workflow.run(run_id="run-b"), 30) == "done"
        handler = workflow.run(run_id="run-a")
        await asyncio.sleep(0.5)
        assert not handler.is_done()
        assert rows(dsn, schema, "SELECT run_id FROM runs WHERE run_id = 'run-a'") == []
    finally:
        holder.commit()
        holder.close()
    assert await asyncio.wait_for(handler, 30) == "done"


async def test_writes_that_span_runs_take_the_schema_lock_exclusively(
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    runtime = make_runtime()
    await runtime.launch()
    workflow = Quick(runtime=runtime, timeout=30)
    # Another session holding the schema lock exclusively (a prune, a reap in another
    # process) holds off every write: run writes take it shared.
    holder = hold(dsn, schema_key(schema), hashed="hashtext(%s)")
    try:
        handler = workflow.run(run_id="run-c")
        await asyncio.sleep(0.5)
        assert not handler.is_done()
    finally:
        holder.commit()
        holder.close()
    assert await asyncio.wait_for(handler, 30) == "done"


def test_the_lock_plan_of_a_transaction() -> None:
    posts = [PostToInbox("b", 0.0, "{}"), PostToInbox("a", 0.0, "{}"), PostToInbox("b", 0.0, "")]
    assert plan("s", posts) == (False, [run_key("s", "a"), run_key("s", "b")])
    assert plan("s", [Register("me", 1, "h", 0.0), *posts[:1]]) == (False, [run_key("s", "b")])
    assert plan("s", [Prune(0.0), *posts]) == (True, [])
    assert plan("s", [Reap("me", "h", 0.0, 1.0)]) == (True, [])


class _Stamp:
    """A journal write to run ``r`` that updates one catalogue row."""

    run_id = "r"

    def __call__(self, conn: object) -> str:
        conn.execute("UPDATE workflows SET updated_at = 1 WHERE name = 'w'")  # type: ignore[attr-defined]
        return "stamped"


async def test_a_transaction_picked_as_a_deadlock_victim_runs_again(
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    """Another session holds the catalogue row the journal's transaction writes and then waits
    for that transaction's run lock: PostgreSQL breaks the cycle by aborting the journal's
    transaction (it waited past ``deadlock_timeout`` first), which reflow runs again."""
    runtime = make_runtime()
    await runtime.launch()
    table = f'"{schema}".workflows'
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"INSERT INTO {table} VALUES ('w', '{{}}', 0)")
    other = await psycopg.AsyncConnection.connect(dsn)
    async with other:
        await other.execute("SET deadlock_timeout = '20s'")  # so it is not the one aborted
        await other.execute(f"UPDATE {table} SET updated_at = 2 WHERE name = 'w'")
        write = asyncio.ensure_future(runtime.journal.call(_Stamp()))
        await asyncio.sleep(0.3)  # the journal's transaction has the run lock, waits for the row
        assert not write.done()
        await other.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (run_key(schema, "r"),)
        )
        await other.commit()  # got the run lock: the journal's transaction was rolled back
    assert await asyncio.wait_for(write, 30) == "stamped"
    assert rows(dsn, schema, "SELECT updated_at FROM workflows WHERE name = 'w'") == [(1.0,)]
