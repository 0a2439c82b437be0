"""Timers survive a restart: run timeout, retry delay, wait_for_event timeout, step timeout and
a delayed event.

A worker process starts one run of each kind and is killed with SIGKILL once every run waits
on its timer; this process resumes them half a second later.  Each timer keeps its original
due time rather than a fresh one counted from the resume: checked exactly by replaying the
journal up to the resume, not against the wall clock.  Only the step in progress gets a new
deadline, since it runs again from the start.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3

import durable_flows as flows
import pytest
from conftest import MakeRuntime
from durable_support import kill, read_line, start_worker

from reflow.durable._driver import rebuild
from reflow.errors import StepTimeoutError, WorkflowTimeoutError

Row = dict[str, object]


def ticks(db: str, run_id: str) -> list[tuple[int, float, Row]]:
    conn = sqlite3.connect(db)
    try:
        return [
            (seq, at, json.loads(body))
            for seq, at, body in conn.execute(
                "SELECT seq, at, body FROM ticks WHERE run_id = ? ORDER BY seq", (run_id,)
            )
        ]
    finally:
        conn.close()


def first(rows: list[tuple[int, float, Row]], kind: str, after: int = 0) -> float:
    return next(at for seq, at, body in rows if body["type"] == kind and seq > after)


def resume_seq(rows: list[tuple[int, float, Row]]) -> int:
    return next(seq for seq, _, body in rows if body["type"] == "start_run" and seq > 1)


async def test_every_kind_of_timer_survives_a_restart(
    make_runtime: MakeRuntime, db: str, side: str
) -> None:
    worker = start_worker("timers", db, side)
    read_line(worker, "started")
    kill(worker)
    await asyncio.sleep(0.5)  # a resume that re-armed timers afresh would shift them by this

    runtime = make_runtime()
    workflows = flows.timer_workflows(runtime)
    await runtime.launch()  # resumes the five runs of the dead worker
    handlers = {name: runtime.get_handler(f"timer-{name}") for name in workflows}

    with pytest.raises(WorkflowTimeoutError):
        await handlers["timeout"]
    assert await handlers["retry"] == "retried"
    assert await handlers["wait"] == "gave up"
    with pytest.raises(StepTimeoutError):
        await handlers["step"]
    assert await handlers["delay"] == "arrived"

    def timers_after_resume(name: str) -> tuple[list[tuple[int, float, Row]], list[float]]:
        """The journal of a run, and the dues of its timers as the resume re-armed them."""
        rows = ticks(db, f"timer-{name}")
        resumed = resume_seq(rows)
        journal = [(seq, json.dumps(body)) for seq, _, body in rows[:resumed]]
        workflow = workflows[name]
        config = workflow._run_config(f"timer-{name}")
        state, _ = rebuild(config, runtime._codec(workflow), None, journal, resumed)
        return rows, sorted(timer.due for timer in state.timers.values())

    # The run timeout keeps the first start's deadline instead of counting from the resume.
    rows, dues = timers_after_resume("timeout")
    assert dues == [rows[0][1] + flows.RUN_TIMEOUT]
    assert first(rows, "timer_fired", after=resume_seq(rows)) >= dues[0]
    # The retry delay, the delayed event and the wait timeout keep their due times too.
    rows, dues = timers_after_resume("retry")
    assert dues == [first(rows, "step_failed") + 1.5]
    retried = [e for e in flows.executions(side) if e[1] == "timer-retry"][-1]
    assert retried[4] != worker.pid and retried[5] >= dues[0]
    rows, dues = timers_after_resume("delay")
    assert dues == [first(rows, "add_event") + 1.5]
    rows, dues = timers_after_resume("wait")
    assert dues == [first(rows, "step_waiting") + 1.5]
    # The step in progress runs again, bounded again by its own timeout.
    rows, dues = timers_after_resume("step")
    assert dues == [first(rows, "start_run", after=1) + 1.5]
