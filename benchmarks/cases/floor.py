"""``floor``: the ``chain`` and ``fanout`` shapes written with bare asyncio, no engine at all.

Every engine step costs at least a queue hand-off and a task switch; these programs do only that,
so their figures are the interpreter's limit for each shape. Comparing ``chain`` and ``fanout``
with them shows how much of an engine's time is its own bookkeeping.

- ``--shape chain``: 20 long-lived stage tasks linked by queues; N runs pass one token through
  all 20 stages, one run after another (steps per second, like ``chain``).
- ``--shape fanout``: one producer puts N items on a queue, 8 workers move them to a result
  queue, one collector counts N (seconds, like ``fanout``).
- ``--shape commit``: the durable runtime's floor, one SQLite commit per step (a step's result
  is durable before the next step starts): N runs of 20 commits, each inserting a tick-sized
  row, on a journal-like file with the journal's settings (WAL, ``synchronous=NORMAL``).
  Reported as ``steps_per_s`` / ``run_p50_ms`` (beside ``durable[chain]``) and, for one-step
  runs, ``runs_per_s`` / ``p50_ms`` (beside ``durable[sequential]``): a one-step run is two
  commits, its start (durable before its step starts) and its step's result (durable before
  the run's result is given out), so 10 N such runs of two commits each.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._common import emit, percentile, size_parser

CASE = "floor"
IMPL = "asyncio"
SHAPES = ("chain", "fanout", "commit")
CHAIN_LENGTH = 20
WORKERS = 8


async def _stage(inbox: asyncio.Queue[int], outbox: asyncio.Queue[int]) -> None:
    while True:
        token = await inbox.get()
        await outbox.put(token + 1)


async def measure_chain(n: int) -> dict[str, float]:
    """Pass ``n`` tokens, one at a time, through a pipeline of 20 stage tasks."""
    queues: list[asyncio.Queue[int]] = [asyncio.Queue() for _ in range(CHAIN_LENGTH + 1)]
    stages = [asyncio.create_task(_stage(queues[i], queues[i + 1])) for i in range(CHAIN_LENGTH)]
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        run_started = time.perf_counter()
        await queues[0].put(0)
        hops = await queues[-1].get()
        latencies.append(time.perf_counter() - run_started)
        if hops != CHAIN_LENGTH:
            raise RuntimeError(f"floor chain: the token made {hops} hops, expected {CHAIN_LENGTH}")
    total = time.perf_counter() - started
    for stage in stages:
        stage.cancel()
    await asyncio.gather(*stages, return_exceptions=True)
    return {
        "steps_per_s": n * CHAIN_LENGTH / total,
        "run_p50_ms": percentile(latencies, 0.50) * 1000,
    }


async def _worker(work: asyncio.Queue[int], done: asyncio.Queue[int]) -> None:
    while True:
        item = await work.get()
        await done.put(item)


async def _collect(done: asyncio.Queue[int], n: int) -> int:
    count = 0
    while count < n:
        await done.get()
        count += 1
    return count


async def measure_fanout(n: int) -> dict[str, float]:
    """Scatter ``n`` items over 8 worker tasks and count them back in."""
    work: asyncio.Queue[int] = asyncio.Queue()
    done: asyncio.Queue[int] = asyncio.Queue()
    started = time.perf_counter()
    workers = [asyncio.create_task(_worker(work, done)) for _ in range(WORKERS)]
    collector = asyncio.create_task(_collect(done, n))
    for item in range(n):
        work.put_nowait(item)
    count = await collector
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    if count != n:
        raise RuntimeError(f"floor fanout: collected {count} of {n} items")
    return {"seconds": seconds}


# The journal's connection settings (``reflow.durable._journal``, durability "normal").
_JOURNAL_PRAGMAS = (
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA temp_store = MEMORY",
    "PRAGMA wal_autocheckpoint = 16000",
)
# About the size of a journaled step-result tick (JSON of the tick and its event).
_TICK_BODY = '{"type": "step_result", "step": "step07", "attempt": 7, "event": ' + (
    '{"qualified_name": "benchmarks.cases.chain.Hop07", "value": {}}, "at": 1764700000.123}'
)


def _commit(conn: sqlite3.Connection, run_id: str, seq: int) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(
        "INSERT INTO ticks (run_id, seq, at, body) VALUES (?, ?, ?, ?)",
        (run_id, seq, time.time(), _TICK_BODY),
    )
    conn.execute("COMMIT")


def _timed_runs(
    conn: sqlite3.Connection, runs: int, commits: int, prefix: str
) -> tuple[float, list[float]]:
    """``runs`` runs of ``commits`` commits each: total seconds and each run's latency."""
    latencies: list[float] = []
    started = time.perf_counter()
    for run in range(runs):
        run_id = f"{prefix}{run:08d}"
        run_started = time.perf_counter()
        for seq in range(commits):
            _commit(conn, run_id, seq)
        latencies.append(time.perf_counter() - run_started)
    return time.perf_counter() - started, latencies


def _commit_floor(path: Path, n: int) -> dict[str, float]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in _JOURNAL_PRAGMAS:
            conn.execute(pragma).fetchall()
        conn.execute(
            "CREATE TABLE ticks (run_id TEXT NOT NULL, seq INTEGER NOT NULL, at REAL NOT NULL,"
            " body TEXT NOT NULL, PRIMARY KEY (run_id, seq)) WITHOUT ROWID"
        )
        chain_total, chains = _timed_runs(conn, n, CHAIN_LENGTH, "chain")
        one_step_total, one_steps = _timed_runs(conn, 10 * n, 2, "one")
    finally:
        conn.close()
    per_second = n * CHAIN_LENGTH / chain_total
    return {
        "commits_per_s": per_second,
        "steps_per_s": per_second,
        "run_p50_ms": percentile(chains, 0.50) * 1000,
        "runs_per_s": 10 * n / one_step_total,
        "p50_ms": percentile(one_steps, 0.50) * 1000,
    }


async def measure_commit(n: int) -> dict[str, float]:
    """``n`` runs of 20 steps, one commit each, in a fresh journal-like SQLite file."""
    with tempfile.TemporaryDirectory(prefix="reflow-floor-") as directory:
        return _commit_floor(Path(directory) / "floor.sqlite3", n)


def main(argv: Sequence[str] | None = None) -> None:
    parser = size_parser(__doc__ or CASE, default_n=200)
    parser.add_argument("--shape", choices=SHAPES, default="chain")
    args = parser.parse_args(argv)
    measure = {"chain": measure_chain, "fanout": measure_fanout, "commit": measure_commit}[
        args.shape
    ]
    emit(CASE, IMPL, args.n, asyncio.run(measure(args.n)), variant=args.shape)


if __name__ == "__main__":
    main()
