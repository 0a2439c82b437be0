"""Timers of runs that were released (held by nobody, the due time in the journal) fire after
the process that armed them died: a retry delay, a waiter's timeout, a delayed event.

``test_dbos_processes`` covers the same timers (and the run and step timeouts, which fire
while a step runs, so the run is never released) in runs a killed process still held.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import durable_flows as flows
from conftest import MakeRuntime, rows
from durable_support import kill, read_line, worker_env

HERE = Path(__file__).resolve().parent


async def test_timers_of_released_runs_fire_after_their_process_died(
    make_runtime: MakeRuntime, dsn: str, schema: str, db: str, side: str
) -> None:
    armer = subprocess.Popen(
        [sys.executable, str(HERE / "timers_armer.py"), db, side],
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    read_line(armer, "released")
    kill(armer)
    released = rows(dsn, schema, "SELECT run_id, owner, wake_at FROM runs ORDER BY run_id")
    assert [(run_id, owner) for run_id, owner, _ in released] == [
        ("timer-delay", None),
        ("timer-retry", None),
        ("timer-wait", None),
    ]
    assert all(wake_at is not None for *_, wake_at in released)
    runtime = make_runtime()
    flows.timer_workflows(runtime)
    await runtime.launch()
    assert await runtime.get_handler("timer-retry") == "retried"
    assert await runtime.get_handler("timer-wait") == "gave up"
    assert await runtime.get_handler("timer-delay") == "arrived"
