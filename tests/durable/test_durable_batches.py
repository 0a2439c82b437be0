"""What a run's journal batches write: the state store while an attempt may still change it, and
the run row's status and lease only when they change."""

from __future__ import annotations

import asyncio
import json
import sqlite3

from conftest import MakeRuntime

from reflow import Context, Workflow, step
from reflow.events import Event, StartEvent, StopEvent


class Note(Event):
    text: str


class Halfway(Event):
    pass


class EditsAcrossBatches(Workflow):
    @step
    async def edit(self, ev: StartEvent, ctx: Context) -> StopEvent:
        async with ctx.store.edit_state() as state:
            state["early"] = 1
            # Journaled in batches of their own while this block is open.
            ctx.write_event_to_stream(Note(text="one"))
            await asyncio.sleep(0.05)
            ctx.write_event_to_stream(Note(text="two"))
            await asyncio.sleep(0.05)
            state["late"] = "written at the block's exit"
        return StopEvent(result="edited")


class Hops(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Halfway:
        return Halfway()

    @step
    async def second(self, ev: Halfway) -> StopEvent:
        return StopEvent(result="done")


def stored_store(db: str, run_id: str) -> str:
    conn = sqlite3.connect(db)
    try:
        row = conn.execute("SELECT store FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return str(row[0])
    finally:
        conn.close()


async def test_a_state_edit_that_ends_after_later_batches_reaches_the_journal(
    make_runtime: MakeRuntime, db: str
) -> None:
    # The attempt touched the store only when it entered the block; what the block writes at
    # its exit must still be stored, though batches were journaled in between.
    runtime = make_runtime()
    assert await EditsAcrossBatches(runtime=runtime).run(run_id="edits") == "edited"
    store = stored_store(db, "edits")
    assert "written at the block's exit" in store
    assert json.loads(store)  # a whole store, as JSON


async def test_batches_write_the_run_rows_status_and_lease_only_when_they_change(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime()
    workflow = Hops(runtime=runtime)
    await runtime.launch()
    statements: list[str] = []
    runtime.journal.call_sync(lambda conn: conn.set_trace_callback(statements.append))
    try:
        assert await workflow.run(run_id="hops") == "done"
    finally:
        runtime.journal.call_sync(lambda conn: conn.set_trace_callback(None))
    updates = [s for s in statements if s.startswith("UPDATE runs")]
    # Start (the insert), first's result (status unchanged), second's result (completed).
    assert len(updates) == 2
    assert "status" not in updates[0] and "owner =" not in updates[0].split("WHERE")[0]
    assert "status = 'completed'" in updates[1]
