"""DBOSRuntime on PostgreSQL: durable runs/s against raw commits/s, SQLite, and scale-out.

    python -m benchmarks.distributed [--dsn postgresql://postgres@127.0.0.1:5432/test] [--quick]

Every figure is measured in this run, on this machine, side by side:

- ``floor``: raw PostgreSQL commits/s (one row per transaction, one connection): the ceiling a
  journal that commits per tick cannot beat;
- ``pg_runs``: 3-step durable runs/s on ``DBOSRuntime`` (one process, steps local), and
  ``sqlite_runs``: the same workflow on the SQLite ``DurableRuntime``;
- ``peer``: the same 3-step runs on the peer's DBOS runtime (``benchmarks._dbos_peer``);
- ``remote_runs``: the same 3-step runs with the steps sent through DBOS queues (one process);
- ``fanout_W``: a fan-out of N steps that each wait 20 ms, spread over W ``reflow worker``
  processes (1, 2, 4) plus the driver, in steps/s; and the p50 step-to-step hop across processes.

Each run works in a fresh schema, dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

from benchmarks._dbos_peer import PEER_RUNS, peer_rows
from benchmarks._distributed_flows import FanOutWaits, Spread, ThreeSteps
from reflow.dbos import DBOSRuntime
from reflow.durable import DurableRuntime

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def drop(dsn: str, schema: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}_dbos" CASCADE')


def floor(dsn: str, count: int) -> float:
    schema = f"bench_floor_{secrets.token_hex(3)}"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
            conn.execute(f'CREATE TABLE "{schema}".t (id BIGINT PRIMARY KEY, body TEXT)')
            started = time.perf_counter()
            for i in range(count):
                with conn.transaction():
                    conn.execute(f'INSERT INTO "{schema}".t VALUES (%s, %s)', (i, "x" * 100))
            return count / (time.perf_counter() - started)
    finally:
        drop(dsn, schema)


async def three_step_runs(runtime: Any, count: int) -> float:
    workflow = ThreeSteps(runtime=runtime)
    await runtime.launch()
    try:
        started = time.perf_counter()
        for start in range(0, count, 50):  # 50 runs in flight at a time
            batch = range(start, min(count, start + 50))
            await asyncio.gather(*(workflow.run(run_id=f"r{i}", n=i) for i in batch))
        return count / (time.perf_counter() - started)
    finally:
        await runtime.destroy()


async def pg_runs(dsn: str, count: int, distribute: bool) -> float:
    schema = f"bench_runs_{secrets.token_hex(3)}"
    try:
        return await three_step_runs(
            DBOSRuntime(dsn, schema=schema, distribute_steps=distribute), count
        )
    finally:
        drop(dsn, schema)


async def sqlite_runs(count: int) -> float:
    with tempfile.TemporaryDirectory() as where:
        return await three_step_runs(DurableRuntime(str(Path(where) / "runs.db")), count)


async def fanout(dsn: str, workers: int, steps: int) -> tuple[float, float]:
    """Steps/s of one fan-out over ``workers`` worker processes, and the p50 hop in ms."""
    schema = f"bench_fan_{secrets.token_hex(3)}"
    # The same module name in every process: a workflow is known by its qualified name.
    argv = [
        sys.executable,
        "-m",
        "reflow.cli",
        "worker",
        "benchmarks._distributed_flows:FanOutWaits",
    ]
    argv += ["--db", dsn, "--schema", schema]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    runtime = DBOSRuntime(dsn, schema=schema, concurrency=None)
    workflow = FanOutWaits(runtime=runtime, timeout=None)
    await runtime.launch()  # creates the schema and queues before the workers start
    procs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(workers)
    ]
    try:
        for proc in procs:
            assert proc.stderr is not None
            proc.stderr.readline()  # "worker ready"
        started = time.perf_counter()
        hops = await workflow.run(run_id="fan", start_event=Spread(n=steps))
        elapsed = time.perf_counter() - started
        return steps / elapsed, statistics.median(hops)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.communicate(timeout=30)
        await runtime.destroy()
        drop(dsn, schema)


async def main(dsn: str, quick: bool) -> None:
    runs, commits, fan = (60, 300, 200) if quick else (300, 2000, 2000)
    rows: list[tuple[str, float, str]] = []
    raw = floor(dsn, commits)
    rows.append(("raw PostgreSQL commits/s (floor)", raw, ""))
    local = await pg_runs(dsn, runs, distribute=False)
    rows.append(
        ("DBOSRuntime 3-step runs/s, steps local", local, f"{local * 5 / raw:.2f} of floor")
    )
    rows += peer_rows(dsn, min(runs, PEER_RUNS), local, drop)
    lite = await sqlite_runs(runs)
    rows.append(("DurableRuntime (SQLite) 3-step runs/s", lite, f"PG/SQLite {local / lite:.2f}"))
    remote = await pg_runs(dsn, runs, distribute=True)
    rows.append(
        ("DBOSRuntime 3-step runs/s, steps via DBOS", remote, f"{remote / local:.2f} of local")
    )
    base = None
    for workers in (1, 2, 4):
        rate, hop = await fanout(dsn, workers, fan)
        base = base or rate
        rows.append(
            (
                f"fan-out {fan} x 20 ms, {workers} worker(s), steps/s",
                rate,
                f"x{rate / base:.2f}, p50 hop {hop:.0f} ms",
            )
        )
    width = max(len(name) for name, _, _ in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>9.1f}  {note}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.dsn, args.quick))
