"""Steps of one run on several processes: a driver process, ``reflow worker`` processes, and
failover of a step whose process is killed (SIGKILL) or frozen past its lease (SIGSTOP).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cluster_flows as flows
from conftest import MakeRuntime
from dbos_support import start_worker
from durable_support import read_line, worker_env
from test_durable_runs import Three

FLOWS = str(Path(flows.__file__).resolve())
LEASE = "1.5"


def start_cli_worker(dsn: str, schema: str, name: str = "FanOut") -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "reflow.cli", "worker", f"{FLOWS}:{name}", "--db", dsn]
    argv += ["--schema", schema, "--lease-seconds", LEASE, "--concurrency", "1"]
    process = subprocess.Popen(
        argv, env=worker_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("worker ready: "), line + process.stderr.read()
    return process


def stop(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGCONT)
            process.terminate()
    for process in processes:
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()


def max_overlap(rows: list[tuple[int, str, int, int, float, float | None]]) -> int:
    edges = []
    for *_, started, ended in rows:
        if ended is not None:
            edges += [(started, 1), (ended, -1)]
    running = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    return peak


def _results(driver: subprocess.Popen[str]) -> dict[str, dict[str, int]]:
    out, err = driver.communicate(timeout=90)
    assert driver.returncode == 0, err
    return dict(json.loads(out.splitlines()[-1]))


def test_steps_of_one_run_spread_over_processes_within_the_cluster_limit(
    dsn: str, schema: str, db: str, side: str
) -> None:
    workers = [start_cli_worker(dsn, schema) for _ in range(2)]
    try:
        driver = start_worker("fan", db, side, "3", "6", "0.1")
        results = _results(driver)
    finally:
        stop(workers)
    assert sorted(results) == ["fan-0", "fan-1", "fan-2"]
    for result in results.values():
        assert sorted(result, key=int) == [str(i) for i in range(6)]
    rows = flows.work_rows(side)
    assert len(rows) == 18  # every step executed once
    pids = {pid for *_, pid, _, _ in rows}
    assert len(pids) >= 2  # steps of the runs ran on more than one process
    # num_workers=2 holds across the cluster (three runs, each allowed two by its own reducer)
    assert max_overlap(rows) <= flows.NUM_WORKERS


def _held_step_on(side: str, pids: set[int]) -> tuple[int, str, int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for _, run_id, item, pid, _, ended in flows.work_rows(side):
            if pid in pids and ended is None:
                return pid, run_id, item
        time.sleep(0.02)
    raise AssertionError("no worker process started a step")


def test_a_step_of_a_killed_worker_runs_elsewhere(
    dsn: str, schema: str, db: str, side: str
) -> None:
    hold = Path(flows.hold_path(side))
    hold.touch()  # every step waits until released
    # One step per process at a time, two in the cluster: the driver runs one, the worker one.
    workers = [start_cli_worker(dsn, schema)]
    try:
        driver = start_worker("fan", db, side, "1", "4", "0.0")
        read_line(driver, "started")
        pid, run_id, item = _held_step_on(side, {w.pid for w in workers})
        victim = next(w for w in workers if w.pid == pid)
        victim.kill()
        victim.communicate()
        killed_at = time.time()
        hold.unlink()
        results = _results(driver)
    finally:
        stop(workers)
    assert results[run_id][str(item)] != pid  # its result came from another process
    again = [r for r in flows.work_rows(side) if (r[1], r[2]) == (run_id, item) and r[3] != pid]
    assert again and again[0][4] >= killed_at - 0.5
    print(f"step re-started {again[0][4] - killed_at:.2f}s after SIGKILL")


def test_a_frozen_workers_late_result_is_discarded(
    dsn: str, schema: str, db: str, side: str
) -> None:
    hold = Path(flows.hold_path(side))
    hold.touch()
    workers = [start_cli_worker(dsn, schema)]
    try:
        driver = start_worker("fan", db, side, "1", "4", "0.0")
        read_line(driver, "started")
        pid, run_id, item = _held_step_on(side, {w.pid for w in workers})
        os.kill(pid, signal.SIGSTOP)  # frozen: alive, silent
        hold.unlink()
        # Wait until another process has run the frozen one's step to the end.
        deadline = time.monotonic() + 30
        while not any(
            (r[1], r[2]) == (run_id, item) and r[3] != pid and r[5] is not None
            for r in flows.work_rows(side)
        ):
            assert time.monotonic() < deadline, "the frozen worker's step never ran elsewhere"
            time.sleep(0.05)
        os.kill(pid, signal.SIGCONT)  # it wakes up and finishes its (stale) execution
        # The stale execution really ends (so its late result exists), yet the run keeps the
        # result of the execution that finished first.
        deadline = time.monotonic() + 30
        while not any(
            (r[1], r[2]) == (run_id, item) and r[3] == pid and r[5] is not None
            for r in flows.work_rows(side)
        ):
            assert time.monotonic() < deadline, "the woken worker never finished its execution"
            time.sleep(0.05)
        results = _results(driver)
    finally:
        stop(workers)
    assert results[run_id][str(item)] != pid


async def test_a_process_dequeues_only_the_steps_of_workflows_it_has(
    make_runtime: MakeRuntime, db: str, side: str
) -> None:
    # This process launches DBOS for another workflow: it must leave FanOut's queue alone
    # (it could not run those steps; DBOS alone would dequeue every queue of the database).
    other = make_runtime(distribute_steps=True)
    Three(runtime=other)
    await other.launch()
    driver = start_worker("fan", db, side, "1", "6", "0.05")
    results = await asyncio.to_thread(_results, driver)
    assert sorted(results["fan-0"], key=int) == [str(i) for i in range(6)]
    assert {row[3] for row in flows.work_rows(side)} == {driver.pid}
