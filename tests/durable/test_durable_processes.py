"""Several processes on one journal: human input answered elsewhere, sharing, failover."""

from __future__ import annotations

import json
import time
from pathlib import Path

import durable_flows as flows
import pytest
from conftest import MakeRuntime
from durable_support import kill, read_line, start_worker

from reflow.events import HumanResponseEvent


@pytest.mark.parametrize(
    ("leave", "auto_resume"), [("graceful", True), ("hard", True), ("hard", False)]
)
async def test_a_run_waiting_for_input_is_answered_from_another_process(
    make_runtime: MakeRuntime, db: str, side: str, leave: str, auto_resume: bool
) -> None:
    # Process A starts the run, which asks for input, and exits (cleanly, or abruptly).
    first = start_worker("hitl", db, side, "order-42", leave)
    read_line(first, "waiting")
    first.communicate(timeout=30)
    # Process B (this one) answers through a handler it gets by run id; without auto_resume
    # it takes the dead process's run over only when it sends the answer.
    runtime = make_runtime(auto_resume=auto_resume)
    flows.Approval(runtime=runtime)
    await runtime.launch()
    handler = runtime.get_handler("order-42")
    await handler.send_event(HumanResponseEvent(response="yes"))
    assert await handler == "name? yes"
    [info] = await runtime.list_runs()
    assert (info.status, info.waiting_on) == ("completed", ())


def _results(process_output: str) -> dict[str, object]:
    return dict(json.loads(process_output.splitlines()[-1]))


def _expected(runs: int) -> dict[str, object]:
    return {f"w0-{i}": {"total": flows.expected_total(i), "parts": 30 * i + 3} for i in range(runs)}


def test_two_processes_share_one_file_and_never_drive_a_run_twice(db: str, side: str) -> None:
    workers = [start_worker("crash", db, side, "3", "1") for _ in range(2)]
    outputs = [worker.communicate(timeout=60) for worker in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    assert [_results(out) for out, _ in outputs] == [_expected(3)] * 2
    keys = [key for _, _, _, key, _, _ in flows.executions(side)]
    assert len(keys) == len(set(keys))  # every step attempt ran exactly once, in one process


def test_a_live_process_takes_over_the_runs_of_one_that_died(db: str, side: str) -> None:
    # The hold keeps the first process's steps from finishing, so however slow the machine,
    # it dies with its runs unfinished and the second one must take them over.
    hold = Path(flows.hold_path(side))
    hold.touch()
    first = start_worker("crash", db, side, "3", "1")
    read_line(first, "started")
    second = start_worker("crash", db, side, "3", "1")  # attaches: the runs belong to the first
    read_line(second, "started")
    _wait_for_an_execution_by(first.pid, side)
    kill(first)
    hold.unlink()
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert _results(out) == _expected(3)
    executions = flows.executions(side)
    assert {pid for *_, pid, _ in executions} == {first.pid, second.pid}
    last = {key: exec_id for exec_id, _, _, key, _, _ in executions}
    for key, exec_id in _journaled(db).items():
        assert last[key] == exec_id


def _wait_for_an_execution_by(pid: int, side: str) -> None:
    deadline = time.monotonic() + 30
    while not any(row[4] == pid for row in flows.executions(side)):
        assert time.monotonic() < deadline, "the first worker never started a step"
        time.sleep(0.02)


def _journaled(db: str) -> dict[str, int]:
    from test_durable_crash import journaled_executions

    return journaled_executions(db)
