"""``reflow worker``: a process that serves the cluster's runs, started from the command line."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

import durable_flows as flows
from conftest import MakeRuntime
from dbos_support import start_worker
from durable_support import kill, read_line, worker_env

FLOWS = str(Path(flows.__file__).resolve())


def start_cli_worker(dsn: str, schema: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reflow.cli",
            "worker",
            f"{FLOWS}:Crashy",
            "--db",
            dsn,
            "--schema",
            schema,
        ],
        env=worker_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    assert line.startswith("worker ready: "), line + process.stderr.read()
    return process


async def test_a_worker_finishes_the_runs_of_a_killed_process(
    make_runtime: MakeRuntime, dsn: str, schema: str, db: str, side: str
) -> None:
    hold = Path(flows.hold_path(side))
    hold.touch()  # the first process cannot finish a step before it is killed
    first = start_worker("crash", db, side, "2", "1")
    read_line(first, "started")
    worker = start_cli_worker(dsn, schema)
    try:
        deadline = time.monotonic() + 30
        while not any(row[4] == first.pid for row in flows.executions(side)):
            assert time.monotonic() < deadline, "the first process never started a step"
            time.sleep(0.02)
        kill(first)
        hold.unlink()
        observer = make_runtime(auto_resume=False)  # registers nothing: it only reads
        await observer.launch()
        for _ in range(1500):
            runs = await observer.list_runs()
            if len(runs) == 2 and all(info.status == "completed" for info in runs):
                break
            await asyncio.sleep(0.02)
        assert [info.status for info in runs] == ["completed", "completed"]
        assert worker.pid in {row[4] for row in flows.executions(side)}
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "worker stopped" in err


def test_a_worker_needs_a_postgresql_url() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reflow.cli", "worker", f"{FLOWS}:Crashy", "--db", "runs.db"],
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "--db must be a postgresql:// URL" in done.stderr
