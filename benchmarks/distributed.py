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
  processes (1, 2, 4) of 8 steps at once each (the driver runs none), in steps/s, with how
  busy the machine's cores were; then the same with workers of 2 steps at once (N/4 steps);
  then workers of 2 with steps of 100 ms (3N/20 steps), whose claims leave cores to spare on
  a small machine: whether adding workers adds throughput when the cores are not the bound;
- the p50 step-to-step hop across processes: a chain of steps, each on a worker, timed from one
  step's end to the next one's start.

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
from benchmarks._distributed_flows import Chain, FanOutWaits, Spread, ThreeSteps
from reflow.dbos import DBOSRuntime
from reflow.durable import DurableRuntime

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
# Steps each worker process runs at once: its capacity, so that 2 workers have twice 1's.
WORKER_CONCURRENCY = 8
# A small capacity: with 20 ms steps, 4 such workers still keep 2 cores busy (each step costs
# about 12 ms of CPU in claims, journal and PostgreSQL); with 100 ms steps they do not.
SMALL_CONCURRENCY = 2
LONG_WAIT_MS = 100.0


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


async def on_workers(
    dsn: str,
    workers: int,
    flow: type[Any],
    steps: int,
    concurrency: int = WORKER_CONCURRENCY,
    wait_ms: float = 20.0,
) -> tuple[float, list[float]]:
    """Seconds a run of ``flow`` with ``Spread(n=steps, wait_ms=wait_ms)`` takes on
    ``workers`` worker processes of ``concurrency`` steps each, and its result (the hops,
    in ms)."""
    schema = f"bench_fan_{secrets.token_hex(3)}"
    # The same module name in every process: a workflow is known by its qualified name.
    argv = [sys.executable, "-m", "reflow.cli", "worker"]
    instance = {FanOutWaits: "fan_out_waits", Chain: "chain"}[flow]
    argv += [f"benchmarks._distributed_flows:{instance}", "--db", dsn, "--schema", schema]
    argv += ["--concurrency", str(concurrency)]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    runtime = DBOSRuntime(dsn, schema=schema, concurrency=None)
    # Launched before the workflow is built: the driver serves none of its queues, so every
    # step that may run anywhere runs on the workers (DBOS fixes a process's queues at launch).
    await runtime.launch()
    workflow = flow(runtime=runtime, timeout=None)
    procs = [
        subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for _ in range(workers)
    ]
    try:
        for proc in procs:
            assert proc.stderr is not None
            line = proc.stderr.readline().decode()
            if not line.startswith("worker ready"):
                raise RuntimeError(f"a worker did not start: {line}{proc.stderr.read().decode()}")
        started = time.perf_counter()
        hops = await workflow.run(run_id="fan", start_event=Spread(n=steps, wait_ms=wait_ms))
        return time.perf_counter() - started, hops
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.communicate(timeout=30)
        await runtime.destroy()
        drop(dsn, schema)


def cpu_times() -> tuple[int, int] | None:
    """(busy, total) jiffies of the whole machine since boot; None where there is no /proc."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(x) for x in stat.readline().split()[1:]]
    except OSError:
        return None
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


async def fanout(
    dsn: str,
    workers: int,
    steps: int,
    concurrency: int = WORKER_CONCURRENCY,
    wait_ms: float = 20.0,
) -> tuple[float, float | None]:
    """Steps/s of one fan-out of ``steps`` steps of ``wait_ms`` over ``workers`` worker
    processes, and how busy the machine's cores were meanwhile (0-1; None where that cannot be
    read): on a machine whose cores are all busy, more workers cannot add throughput."""
    before = cpu_times()
    elapsed, _ = await on_workers(dsn, workers, FanOutWaits, steps, concurrency, wait_ms)
    after = cpu_times()
    busy = None
    if before is not None and after is not None and after[1] > before[1]:
        busy = (after[0] - before[0]) / (after[1] - before[1])
    return steps / elapsed, busy


async def chain_hop(dsn: str, steps: int) -> float:
    """The p50, in ms, of a hop from one step's end to the next one's start (2 workers)."""
    _, hops = await on_workers(dsn, 2, Chain, steps)
    return statistics.median(hops)


class Table(list[tuple[str, float, str]]):
    """Rows printed as they are measured: a slow or failing case does not hide the others."""

    def append(self, row: tuple[str, float, str]) -> None:
        super().append(row)
        print(f"{row[0]:<58}  {row[1]:>9.1f}  {row[2]}", flush=True)


async def main(dsn: str, quick: bool) -> None:
    runs, commits, fan = (60, 300, 200) if quick else (300, 2000, 2000)
    rows = Table()
    print(f"load average (1, 5, 15 min) at the start: {os.getloadavg()}")
    raw = floor(dsn, commits)
    rows.append(("raw PostgreSQL commits/s (floor)", raw, ""))
    local = await pg_runs(dsn, runs, distribute=False)
    rows.append(
        ("DBOSRuntime 3-step runs/s, steps local", local, f"{local * 5 / raw:.2f} of floor")
    )
    for row in peer_rows(dsn, min(runs, PEER_RUNS), local, drop):
        rows.append(row)  # append prints it; += would not
    lite = await sqlite_runs(runs)
    rows.append(("DurableRuntime (SQLite) 3-step runs/s", lite, f"PG/SQLite {local / lite:.2f}"))
    remote = await pg_runs(dsn, runs, distribute=True)
    rows.append(
        ("DBOSRuntime 3-step runs/s, steps via DBOS", remote, f"{remote / local:.2f} of local")
    )
    series = (
        (WORKER_CONCURRENCY, fan, 20.0),
        (SMALL_CONCURRENCY, fan // 4, 20.0),
        (SMALL_CONCURRENCY, fan * 3 // 20, LONG_WAIT_MS),
    )
    for concurrency, steps, wait_ms in series:
        base = None
        for workers in (1, 2, 4):
            rate, busy = await fanout(dsn, workers, steps, concurrency, wait_ms)
            base = base or rate
            cores = "" if busy is None else f", cores {busy:.0%} busy"
            rows.append(
                (
                    f"fan-out {steps} x {wait_ms:.0f} ms, {workers} worker(s) x {concurrency},"
                    " steps/s",
                    rate,
                    f"x{rate / base:.2f}{cores}",
                )
            )
    hop = await chain_hop(dsn, 20 if quick else 100)
    rows.append(("step-to-step hop across processes, p50 ms", hop, "a chain of steps, 2 workers"))
    print(f"load average (1, 5, 15 min) at the end: {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.dsn, args.quick))
