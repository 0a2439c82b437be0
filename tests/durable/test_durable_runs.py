"""Runs on the durable runtime in one process: results, the journal, idempotent start, handles."""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
from conftest import MakeRuntime
from durable_flows import Approval, Ask

from reflow import Context, Workflow, step
from reflow.durable import DurableRuntime, UnknownRun
from reflow.errors import WorkflowCancelledByUser, WorkflowRuntimeError
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent

executions: list[str] = []


class Doubled(Event):
    n: int


class Plus(Event):
    n: int


class Three(Workflow):
    @step
    async def double(self, ev: StartEvent, ctx: Context) -> Doubled:
        executions.append(ctx.idempotency_key)
        await ctx.store.set("seen", ev.n)
        return Doubled(n=ev.n * 2)

    @step
    async def plus(self, ev: Doubled, ctx: Context) -> Plus:
        executions.append(ctx.idempotency_key)
        ctx.write_event_to_stream(Plus(n=-1))
        return Plus(n=ev.n + 1)

    @step
    async def done(self, ev: Plus, ctx: Context) -> StopEvent:
        executions.append(ctx.idempotency_key)
        return StopEvent(result={"n": ev.n, "seen": await ctx.store.get("seen")})


class Boom(Workflow):
    @step
    async def fail(self, ev: StartEvent) -> StopEvent:
        raise KeyError("no such order")


def rows(db: str, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


async def test_a_run_completes_and_its_ticks_events_and_state_are_in_the_journal(
    make_runtime: MakeRuntime, db: str
) -> None:
    runtime = make_runtime()
    workflow = Three(runtime=runtime)
    await runtime.launch()
    assert await workflow.run(run_id="r1", n=4) == {"n": 9, "seen": 4}
    ticks = [json.loads(str(body))["type"] for (body,) in rows(db, "SELECT body FROM ticks")]
    assert ticks == [
        "start_run",
        "step_returned",
        "publish_event",
        "step_returned",
        "step_returned",
    ]
    (status, outcome, store, last_seq, owner) = rows(
        db, "SELECT status, outcome, store, last_seq, owner FROM runs WHERE run_id = 'r1'"
    )[0]
    assert (status, last_seq, owner) == ("completed", 5, None)
    assert json.loads(str(outcome))["result"]["value"]["result"] == {"n": 9, "seen": 4}
    assert json.loads(json.loads(str(store))["state_data"]["_data"]["seen"]) == 4
    seqs = [seq for (seq,) in rows(db, "SELECT seq FROM events WHERE run_id = 'r1' ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


async def test_the_same_run_id_attaches_instead_of_starting_again(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime()
    workflow = Three(runtime=runtime)
    executions.clear()
    first = workflow.run(run_id="same", n=1)
    second = workflow.run(run_id="same", n=100)  # attaches to the live run: n=100 is ignored
    assert await first == await second == {"n": 3, "seen": 1}
    third = workflow.run(run_id="same", n=7)  # attaches to the finished run in the journal
    assert await third == {"n": 3, "seen": 1}
    assert executions == ["same:double:1", "same:plus:2", "same:done:3"]


async def test_a_run_id_of_another_workflow_is_refused(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    three, boom = Three(runtime=runtime), Boom(runtime=runtime)
    await three.run(run_id="taken", n=1)
    with pytest.raises(WorkflowRuntimeError, match="already used by a run of workflow"):
        await boom.run(run_id="taken")


async def test_idempotent_start_across_runtimes_on_one_file(make_runtime: MakeRuntime) -> None:
    first = make_runtime()
    await Three(runtime=first).run(run_id="once", n=2)
    await first.destroy()
    executions.clear()
    second = make_runtime()
    assert await Three(runtime=second).run(run_id="once", n=50) == {"n": 5, "seen": 2}
    assert executions == []


async def test_failure_is_stored_and_reported_to_a_later_handler(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime()
    workflow = Boom(runtime=runtime)
    with pytest.raises(KeyError):
        await workflow.run(run_id="bad")
    [info] = await runtime.list_runs(status="failed")
    assert (info.run_id, info.workflow, info.status) == ("bad", workflow.workflow_name, "failed")
    with pytest.raises(KeyError, match="no such order"):
        await runtime.get_handler("bad")


async def test_the_stream_is_numbered_and_can_be_resumed_from_any_position(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime()
    workflow = Three(runtime=runtime)
    handler = workflow.run(run_id="s", n=1)
    live = [type(ev).__name__ async for ev in handler.stream_events(expose_internal=True)]
    await handler
    stored = [item async for item in runtime.stream_events("s")]
    assert [item.seq for item in stored] == list(range(1, len(stored) + 1))
    assert [type(item.event).__name__ for item in stored] == live
    for position in range(len(stored) + 1):
        rest = [item async for item in runtime.stream_events("s", after=position)]
        assert rest == stored[position:]
    from_other_handle = [ev async for ev in runtime.get_handler("s").stream_events()]
    assert [type(ev).__name__ for ev in from_other_handle] == ["Plus", "StopEvent"]


async def test_list_runs_filters_by_status_and_workflow(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    three, approval = Three(runtime=runtime), Approval(runtime=runtime)
    await three.run(run_id="a", n=1)
    handler = approval.run(run_id="b", start_event=Ask(question="ok?"))
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    assert {i.run_id for i in await runtime.list_runs()} == {"a", "b"}
    [waiting] = await runtime.list_runs(status="running")
    assert waiting.run_id == "b"
    assert waiting.waiting_on == ("reflow.events.HumanResponseEvent",)
    assert [i.run_id for i in await runtime.list_runs(workflow=three)] == ["a"]
    assert [i.run_id for i in await runtime.list_runs(status=["completed", "failed"])] == ["a"]
    with pytest.raises(ValueError, match="Unknown run status 'done'"):
        await runtime.list_runs(status="done")
    await handler.cancel_run()


async def test_get_handler_of_an_unknown_run_names_it(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    await runtime.launch()
    with pytest.raises(UnknownRun, match="No run with id 'nope'"):
        runtime.get_handler("nope")


async def test_get_handler_needs_the_workflow_registered(make_runtime: MakeRuntime) -> None:
    first = make_runtime()
    await Three(runtime=first).run(run_id="x", n=1)
    await first.destroy()
    second = make_runtime()
    await second.launch()
    with pytest.raises(WorkflowRuntimeError, match="not registered with this runtime"):
        second.get_handler("x")


async def test_cancel_run_through_a_handler_from_get_handler(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    workflow = Approval(runtime=runtime)
    handler = workflow.run(run_id="c", start_event=Ask())
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    await runtime.get_handler("c").cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    [info] = await runtime.list_runs()
    assert info.status == "cancelled"


async def test_an_idle_run_is_released_from_memory_and_reloaded_by_its_event(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime(release_idle_after=0.05)
    workflow = Approval(runtime=runtime)
    handler = workflow.run(run_id="idle", start_event=Ask(question="who?"))
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    for _ in range(200):
        if "idle" not in runtime._live:
            break
        await asyncio.sleep(0.01)
    assert "idle" not in runtime._live
    [info] = await runtime.list_runs()
    assert info.owner is None and info.status == "running"
    await handler.send_event(HumanResponseEvent(response="me"))
    assert await handler == "who? me"


class ShortWait(Workflow):
    @step
    async def wait(self, ev: StartEvent, ctx: Context) -> StopEvent:
        try:
            await ctx.wait_for_event(HumanResponseEvent, timeout=0.3)
        except asyncio.TimeoutError:
            return StopEvent(result="gave up")
        return StopEvent(result="answered")


async def test_a_released_run_is_loaded_again_when_its_timer_is_due(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime(release_idle_after=0.02)
    workflow = ShortWait(runtime=runtime, timeout=None)
    handler = workflow.run(run_id="timer")
    released = False
    for _ in range(100):
        infos = await runtime.list_runs()
        released = bool(infos) and infos[0].owner is None and infos[0].status == "running"
        if released:
            break
        await asyncio.sleep(0.01)
    assert released and "timer" not in runtime._live  # released, with its timer pending
    assert await asyncio.wait_for(handler, 10) == "gave up"


async def test_send_and_cancel_by_run_id(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    workflow = Approval(runtime=runtime)
    for run_id in ("answered", "cancelled"):
        handler = workflow.run(run_id=run_id, start_event=Ask(question="ok?"))
        async for ev in handler.stream_events():
            if isinstance(ev, InputRequiredEvent):
                break
    await runtime.send_event("answered", HumanResponseEvent(response="yes"))
    await runtime.cancel_run("cancelled")
    assert await runtime.get_handler("answered") == "ok? yes"
    with pytest.raises(WorkflowCancelledByUser):
        await runtime.get_handler("cancelled")
    with pytest.raises(UnknownRun):
        await runtime.send_event("missing", HumanResponseEvent(response="?"))


async def test_send_event_to_a_finished_run_is_dropped(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    await Three(runtime=runtime).run(run_id="f", n=1)
    await runtime.send_event("f", HumanResponseEvent(response="late"))
    assert rows(runtime.path, "SELECT COUNT(*) FROM inbox") == [(0,)]


async def test_snapshots_bound_replay_and_reloading_uses_them(
    make_runtime: MakeRuntime, db: str
) -> None:
    runtime = make_runtime(snapshot_every=2, release_idle_after=0.01)
    workflow = Approval(runtime=runtime)
    handler = workflow.run(run_id="snap", start_event=Ask(question="q"))
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    while "snap" in runtime._live:
        await asyncio.sleep(0.01)
    [(seq, last_seq)] = rows(
        db, "SELECT s.seq, r.last_seq FROM snapshots s JOIN runs r USING (run_id)"
    )
    assert seq == last_seq  # a released run leaves a snapshot of its last tick
    await handler.send_event(HumanResponseEvent(response="a"))
    assert await handler == "q a"


async def test_runs_started_before_launch_wait_for_it(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    assert not runtime.is_launched
    assert await Three(runtime=runtime).run(n=5) == {"n": 11, "seen": 5}
    assert runtime.is_launched


async def test_workflows_built_inside_registering_use_the_runtime(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime()
    with runtime.registering():
        workflow = Three()
    assert workflow.runtime is runtime
    assert await workflow.run(run_id="reg", n=0) == {"n": 1, "seen": 0}


async def test_a_destroyed_runtime_refuses_new_runs(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    workflow = Three(runtime=runtime)
    await workflow.run(n=1)
    await runtime.destroy()
    with pytest.raises(WorkflowRuntimeError, match="destroyed"):
        workflow.run(n=1)


def test_options_are_checked(db: str) -> None:
    with pytest.raises(ValueError, match="durability must be 'normal' or 'full'"):
        DurableRuntime(db, durability="fast")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="snapshot_every"):
        DurableRuntime(db, snapshot_every=0)
    with pytest.raises(ValueError, match="lease_seconds"):
        DurableRuntime(db, lease_seconds=0)
