"""Several processes on one PostgreSQL journal: failover after SIGKILL, human input answered by
a process that never ran the run, timers firing after the process that armed them died.
"""

from __future__ import annotations

import json
import random
import time

import durable_flows as flows
import pytest
from conftest import MakeRuntime
from dbos_support import journaled_executions, start_worker
from durable_support import kill, read_line

from reflow.errors import StepTimeoutError, WorkflowTimeoutError
from reflow.events import HumanResponseEvent, StopEvent


def _expected(waves: int, runs: int) -> dict[str, object]:
    return {
        f"w{wave}-{i}": {"total": flows.expected_total(i), "parts": 30 * i + 3}
        for wave in range(waves)
        for i in range(runs)
    }


async def test_human_input_is_answered_by_a_process_that_never_ran_the_run(
    make_runtime: MakeRuntime, db: str, side: str
) -> None:
    first = start_worker("hitl", db, side, "order-42", "hard")  # asks, then dies abruptly
    read_line(first, "waiting")
    first.communicate(timeout=30)
    runtime = make_runtime()
    flows.Approval(runtime=runtime)
    await runtime.launch()
    await runtime.send_event("order-42", HumanResponseEvent(response="yes"))
    assert await runtime.get_handler("order-42") == "name? yes"


def test_two_processes_share_runs_and_never_drive_one_twice(db: str, side: str) -> None:
    workers = [start_worker("crash", db, side, "3", "1") for _ in range(2)]
    outputs = [worker.communicate(timeout=60) for worker in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    for out, _ in outputs:
        assert json.loads(out.splitlines()[-1]) == _expected(1, 3)
    keys = [key for _, _, _, key, _, _ in flows.executions(side)]
    assert len(keys) == len(set(keys))


async def test_runs_survive_sigkill_and_completed_steps_never_run_again(
    make_runtime: MakeRuntime, db: str, side: str
) -> None:
    rng = random.Random(1202)
    runs, waves = 2, 3
    for wave in range(1, waves + 1):
        worker = start_worker("crash", db, side, str(runs), str(wave))
        read_line(worker, "started")
        time.sleep(rng.uniform(0.05, 0.4))
        kill(worker)
    final = start_worker("crash", db, side, str(runs), str(waves))
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, err
    assert json.loads(out.splitlines()[-1]) == _expected(waves, runs)
    executions = flows.executions(side)
    last = {key: exec_id for exec_id, _, _, key, _, _ in executions}
    journaled = journaled_executions(db)
    assert len(journaled) == waves * runs * (1 + flows.FAN_OUT + 1 + flows.CHAIN_LENGTH)
    for key, exec_id in journaled.items():
        assert last[key] == exec_id, f"{key} ran again after its result was journaled"

    runtime = make_runtime(auto_resume=False)
    flows.Crashy(runtime=runtime)
    await runtime.launch()
    for run_id in _expected(waves, runs):
        stream = [item async for item in runtime.stream_events(run_id, follow=False)]
        assert [item.seq for item in stream] == list(range(1, len(stream) + 1))
        assert [item for item in stream if isinstance(item.event, StopEvent)] == [stream[-1]]


async def test_timers_fire_after_the_process_that_armed_them_died(
    make_runtime: MakeRuntime, db: str, side: str
) -> None:
    worker = start_worker("timers", db, side)
    read_line(worker, "started")
    kill(worker)
    runtime = make_runtime()
    workflows = flows.timer_workflows(runtime)
    await runtime.launch()
    handlers = {name: runtime.get_handler(f"timer-{name}") for name in workflows}
    with pytest.raises(WorkflowTimeoutError):
        await handlers["timeout"]
    assert await handlers["retry"] == "retried"
    assert await handlers["wait"] == "gave up"
    with pytest.raises(StepTimeoutError):
        await handlers["step"]
    assert await handlers["delay"] == "arrived"
