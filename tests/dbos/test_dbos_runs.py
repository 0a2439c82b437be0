"""DBOSRuntime in one process: the DurableRuntime surface over a PostgreSQL journal."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import durable_flows as flows
import pytest
from conftest import MakeRuntime, ask_and_release, rows
from test_durable_runs import Boom, Three, executions  # the durable runtime's own workflows

from reflow.dbos import DBOSRuntime
from reflow.durable import JournalError, UnknownRun
from reflow.errors import WorkflowCancelledByUser, WorkflowRuntimeError
from reflow.events import HumanResponseEvent, InputRequiredEvent


async def test_a_run_is_journaled_in_postgresql(
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    runtime = make_runtime(distribute_steps=True)  # DBOS launched, as by default
    workflow = Three(runtime=runtime)
    await runtime.launch()
    assert await workflow.run(run_id="r1", n=4) == {"n": 9, "seen": 4}
    bodies = rows(dsn, schema, "SELECT body FROM ticks WHERE run_id = 'r1' ORDER BY seq")
    kinds = [json.loads(body)["type"] for (body,) in bodies]
    assert kinds == [
        "start_run",
        "step_returned",
        "publish_event",
        "step_returned",
        "step_returned",
    ]
    [(status, last_seq, owner)] = rows(
        dsn, schema, "SELECT status, last_seq, owner FROM runs WHERE run_id = 'r1'"
    )
    assert (status, last_seq, owner) == ("completed", 5, None)
    seqs = [
        s for (s,) in rows(dsn, schema, "SELECT seq FROM events WHERE run_id = 'r1' ORDER BY seq")
    ]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_start_is_idempotent_by_run_id_across_runtimes(make_runtime: MakeRuntime) -> None:
    first, second = make_runtime(), make_runtime()
    executions.clear()
    assert await Three(runtime=first).run(run_id="same", n=1) == {"n": 3, "seen": 1}
    # Another runtime (another process, as far as the journal knows) attaches to the result.
    assert await Three(runtime=second).run(run_id="same", n=50) == {"n": 3, "seen": 1}
    assert executions == ["same:double:1", "same:plus:2", "same:done:3"]


async def test_failures_streams_lists_and_prune(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    three, boom = Three(runtime=runtime), Boom(runtime=runtime)
    await three.run(run_id="ok", n=2)
    with pytest.raises(KeyError, match="no such order"):
        await boom.run(run_id="bad")
    with pytest.raises(KeyError):
        await runtime.get_handler("bad")
    stored = [s async for s in runtime.stream_events("ok", follow=False)]
    assert [s.seq for s in stored] == list(range(1, len(stored) + 1))
    later = [s async for s in runtime.stream_events("ok", after=2, follow=False)]
    assert later == stored[2:]
    assert {i.run_id: i.status for i in await runtime.list_runs()} == {
        "ok": "completed",
        "bad": "failed",
    }
    assert [i.run_id for i in await runtime.list_runs(status="failed")] == ["bad"]
    assert await runtime.prune(older_than=timedelta(0)) == 2
    assert await runtime.list_runs() == []
    with pytest.raises(UnknownRun, match="nope"):
        runtime.get_handler("nope")


async def test_a_waiting_run_holds_nothing_and_is_answered_by_another_runtime(
    make_runtime: MakeRuntime,
) -> None:
    info = await ask_and_release(make_runtime, "hitl")
    assert info.owner is None and info.status == "running"
    answering = make_runtime()
    flows.Approval(runtime=answering, timeout=None)
    await answering.launch()
    await answering.send_event("hitl", HumanResponseEvent(response="yes"))
    assert await answering.get_handler("hitl") == "name? yes"


async def test_cancel_by_run_id(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    workflow = flows.Approval(runtime=runtime, timeout=None)
    handler = workflow.run(run_id="c", start_event=flows.Ask(question="?"))
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    await runtime.cancel_run("c")
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    [info] = await runtime.list_runs()
    assert info.status == "cancelled"


def test_bad_options_are_named(dsn: str) -> None:
    with pytest.raises(JournalError, match="postgresql:// URL"):
        DBOSRuntime("runs.db")
    with pytest.raises(ValueError, match="schema must be a PostgreSQL identifier"):
        DBOSRuntime(dsn, schema="no; drop")


async def test_an_unreachable_database_is_a_clear_error() -> None:
    runtime = DBOSRuntime("postgresql://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(JournalError, match="cannot connect to PostgreSQL") as caught:
        await runtime.launch()
    assert "secret" not in str(caught.value)
    with pytest.raises(WorkflowRuntimeError):
        await runtime.launch()


async def test_a_reader_in_another_process_is_woken_by_notify_not_by_polling(
    make_runtime: MakeRuntime,
) -> None:
    driving = make_runtime()
    workflow = flows.Approval(runtime=driving, timeout=None)
    # This reader polls once a minute: only NOTIFY can bring it the events in time.
    reading = make_runtime(poll_interval=60.0, auto_resume=False)
    await reading.launch()
    handler = workflow.run(run_id="n1", start_event=flows.Ask(question="name?"))
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    follow = reading.stream_events("n1", after=0)

    async def read_to_the_end() -> list[int]:
        return [stored.seq async for stored in follow]

    reader = asyncio.ensure_future(read_to_the_end())
    await driving.send_event("n1", HumanResponseEvent(response="yes"))
    assert await handler == "name? yes"
    seqs = await asyncio.wait_for(reader, 30)
    assert seqs == list(range(1, len(seqs) + 1))


async def test_the_journal_reconnects_after_postgresql_drops_its_connections(
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    runtime = make_runtime()
    workflow = Three(runtime=runtime)
    assert await workflow.run(run_id="before", n=1) == {"n": 3, "seen": 1}
    # What a server restart does to idle connections: this runtime's journal and LISTEN ones.
    [(dropped,)] = rows(
        dsn,
        schema,
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = %s OR (query LIKE 'LISTEN%%' AND query LIKE %s)",
        f"reflow-journal:{schema}",
        f"%{schema}%",
    )
    assert dropped >= 1
    assert await workflow.run(run_id="after", n=2) == {"n": 5, "seen": 2}
    stored = [s.seq async for s in runtime.stream_events("after", follow=False)]
    assert stored == list(range(1, len(stored) + 1))
