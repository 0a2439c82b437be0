"""Steps that take a ``Context`` run on worker processes; their effects reach the run.

The driving process launches its runtime before it builds the workflow, so it dequeues none of
the workflow's steps (DBOS fixes the queues a process serves at launch): every step that may
run anywhere runs in the ``reflow worker`` process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import context_flows as flows
import pytest
from conftest import MakeRuntime, rows
from durable_support import worker_env

from reflow.dbos._capture import needs_live_run
from reflow.durable._encoding import decode_store

FLOWS = str(Path(flows.__file__).resolve())


@pytest.fixture
def worker(request: pytest.FixtureRequest, dsn: str, schema: str) -> Iterator[int]:
    """A ``reflow worker`` process serving the workflow class the test names; its pid."""
    name, concurrency = (*request.param.split(":"), "4")[:2]  # "Name" or "Name:CONCURRENCY"
    argv = [sys.executable, "-m", "reflow.cli", "worker", f"{FLOWS}:{name}", "--db", dsn]
    process = subprocess.Popen(
        # --concurrency above the steps' num_workers (1): the queue takes the lower of the two.
        [*argv, "--schema", schema, "--lease-seconds", "2", "--concurrency", concurrency],
        env=worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("worker ready: "), line + process.stderr.read()
    try:
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


async def run_in_process(workflow: flows.Workflow, start: flows.StartEvent) -> tuple[object, list]:  # type: ignore[type-arg]
    handler = workflow.run(start_event=start)
    events = [ev async for ev in handler.stream_events() if isinstance(ev, flows.Progress)]
    return await handler, events


@pytest.mark.parametrize("worker", ["ContextFlow"], indirect=True)
async def test_context_steps_run_on_a_worker_with_the_runs_store_stream_and_sends(
    make_runtime: MakeRuntime, worker: int
) -> None:
    runtime = make_runtime(distribute_steps=True, lease_seconds=2.0)
    await runtime.launch()
    remote = flows.ContextFlow(runtime=runtime, timeout=60)
    result, events = await run_in_process(remote, flows.Go(name="ada"))

    expected, local_events = await run_in_process(
        flows.ContextFlow(timeout=60), flows.Go(name="ada")
    )
    assert (
        result
        == expected
        == {
            "text": "hello ada",
            "note": "note for ada",
            "visits": 2,
            "idempotency_key": "finish:3",
        }
    )
    assert [e.msg for e in events] == [e.msg for e in local_events]
    assert [e.msg for e in events] == ["greeting ada", "note for ada", "finishing"]
    assert {e.pid for e in events} == {worker}  # every step ran on the worker
    assert worker != os.getpid()
    # The store the run keeps (journaled by the driving process) holds the workers' writes.
    [info] = await runtime.list_runs()
    state = await runtime.run_state(info.run_id)
    store = decode_store(json.dumps(state), remote)
    assert [store.get_sync(k) for k in ("name", "note", "visits")] == ["ada", "note for ada", 2]


@pytest.mark.parametrize("worker", ["GatherFlow"], indirect=True)
async def test_a_step_that_needs_the_live_run_runs_in_the_driving_process(
    make_runtime: MakeRuntime, worker: int
) -> None:
    runtime = make_runtime(distribute_steps=True, lease_seconds=2.0)
    await runtime.launch()
    workflow = flows.GatherFlow(runtime=runtime, timeout=60)
    # ``join`` collects through a helper: sent to the worker, it comes back to run here.
    result = await workflow.run(start_event=flows.Split(n=3))
    assert result == {"parts": [0, 1, 2], "joined_in": os.getpid()}


def test_steps_that_name_collect_or_wait_stay_local() -> None:
    async def collects(ev: object, ctx: flows.Context) -> None:  # type: ignore[type-arg]
        ctx.collect_events(ev, [])  # type: ignore[arg-type]

    async def waits(ev: object, ctx: flows.Context) -> None:  # type: ignore[type-arg]
        async def inner() -> None:
            await ctx.wait_for_event(flows.Noted)

        await inner()

    assert needs_live_run(collects)
    assert needs_live_run(waits)  # in a nested function too
    assert not needs_live_run(flows.ContextFlow.greet)
    assert not needs_live_run(flows.GatherFlow.join)  # through a helper: caught at run time


async def _tally(make_runtime: MakeRuntime, dsn: str, schema: str, same_key: bool) -> tuple:  # type: ignore[type-arg]
    """Run ``TallyFlow`` of 12 steps in this process (it serves the queues); the result and
    how many ``add`` executions went through DBOS."""
    runtime = make_runtime(distribute_steps=True)
    workflow = flows.TallyFlow(runtime=runtime, timeout=60)
    await runtime.launch()
    result = await workflow.run(run_id="tally", start_event=flows.Count(n=12, same_key=same_key))
    [(remote,)] = rows(
        dsn,
        f"{schema}_dbos",
        "SELECT count(*) FROM workflow_status WHERE workflow_uuid LIKE 'tally:add:%%'",
    )
    return result, remote


async def test_remote_read_modify_writes_of_one_key_lose_no_update(
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    """Twelve remote steps at once add one to the same count: each executing process edits
    the count it was sent, so only the first to return may write it; the others conflict and
    run again on the live store, as ``edit_state`` does in one process."""
    result, remote = await _tally(make_runtime, dsn, schema, same_key=True)
    assert result == {"count": 12}
    assert remote >= 2  # they did start remotely (and conflicted)


async def test_remote_steps_writing_different_keys_all_keep_their_writes(
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    result, remote = await _tally(make_runtime, dsn, schema, same_key=False)
    assert result == {f"k{i}": 1 for i in range(12)}
    assert remote == 12  # no conflict: none ran again locally


async def test_what_a_remote_step_did_before_it_raised_stands(make_runtime: MakeRuntime) -> None:
    """As in the driving process: the failed attempt's store write and stream write reach the
    run; the retry sees the store the failed attempt left."""
    runtime = make_runtime(distribute_steps=True)
    workflow = flows.FlakyFlow(runtime=runtime, timeout=60)
    await runtime.launch()
    handler = workflow.run(run_id="flaky", start_event=flows.FailOnce())
    seen = [ev.msg async for ev in handler.stream_events() if isinstance(ev, flows.Progress)]
    assert await handler == 2
    assert seen == ["try 1", "try 2"]


@pytest.mark.parametrize("worker", ["LimitFlow:1"], indirect=True)
async def test_a_process_that_only_enqueues_leaves_the_workers_concurrency_alone(
    make_runtime: MakeRuntime, worker: int
) -> None:
    """The worker serves ``hold`` one at a time (``--concurrency 1``); this process, launched
    without a limit and serving none of the queues, must not declare the queue with its own."""
    runtime = make_runtime(distribute_steps=True)
    await runtime.launch()
    workflow = flows.LimitFlow(runtime=runtime, timeout=60)
    assert await workflow.run(start_event=flows.Wide(n=6)) == 1


def test_a_workflow_keeps_one_codec_for_its_step_executions() -> None:
    from reflow.dbos._capture import codec_of

    first, second = flows.ContextFlow(), flows.ContextFlow()
    assert codec_of(first) is codec_of(first)
    assert codec_of(second) is not codec_of(first)
