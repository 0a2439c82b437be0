"""A cluster under a load while things break: workers SIGKILLed at random moments, and every
PostgreSQL connection of the cluster dropped (``pg_terminate_backend``) again and again.

Nothing may be lost: every run completes with the result of an uninterrupted run, no step
whose result was journaled runs again, and every run's stream is numbered 1..n with each
published event once.
"""

from __future__ import annotations

import os
import random
import time

import load_flows
import psycopg
import pytest
from load_support import (
    Cluster,
    load_specs,
    start_load_worker,
    start_workers,
    stop_all,
    submit,
    wait_ready,
    worker_log,
)

RUNS, ITEMS = 40, 3


def _busy(cluster: Cluster, seconds: float) -> None:
    """Answer questions for ``seconds`` while the load goes on."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        cluster.answer_questions()
        time.sleep(0.05)


def _check(
    cluster: Cluster, specs: list[dict[str, object]], statuses: dict[str, str], logs: str = ""
) -> None:
    unfinished = {run_id: s for run_id, s in statuses.items() if s != "completed"}
    assert len(statuses) == RUNS and not unfinished, (
        f"{cluster.describe(sorted(unfinished))}\n{logs}"
    )
    cluster.check_results(specs)  # type: ignore[arg-type]
    cluster.check_no_completed_step_ran_again()
    cluster.check_streams(specs)  # type: ignore[arg-type]


@pytest.mark.timeout(300)
def test_runs_survive_workers_killed_at_random_moments(dsn: str, schema: str, db: str) -> None:
    rng = random.Random(1203)
    load_flows.create_side_table(dsn, schema)
    workers = start_workers(dsn, schema, 2)
    try:
        specs = load_specs(db, RUNS, ITEMS)
        submit(db, specs)
        cluster = Cluster(dsn, schema)
        for _ in range(5):
            _busy(cluster, rng.uniform(0.2, 1.5))
            victim = workers.pop(rng.randrange(len(workers)))
            victim.kill()  # SIGKILL: no goodbye, its runs and queued steps are taken over
            stop_all([victim])  # reaped, its log removed
            replacement = start_load_worker(dsn, schema)
            workers.append(replacement)
            wait_ready(replacement)  # the load goes on meanwhile
        statuses = cluster.until_finished(RUNS, seconds=60)
    finally:
        stop_all(workers)
    _check(cluster, specs, statuses)


def _client_ports(pid: int) -> set[int]:
    """Local ports of ``pid``'s TCP connections to PostgreSQL (5432), read from /proc."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed meanwhile
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == 5432:
                    ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


def _drop_connections(dsn: str, pids: list[int]) -> int:
    """Terminate the backends of these processes only (other tests share the server)."""
    ports = sorted({port for pid in pids for port in _client_ports(pid)})
    if not ports:
        return 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        done = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE client_addr IN ('127.0.0.1', '::1') AND client_port = ANY(%s)"
            " AND application_name <> %s",
            (ports, load_flows.SIDE_APPLICATION),
        ).fetchall()
    return sum(bool(ok) for (ok,) in done)


@pytest.mark.timeout(300)
def test_runs_survive_postgresql_dropping_every_connection(dsn: str, schema: str, db: str) -> None:
    rng = random.Random(1204)
    load_flows.create_side_table(dsn, schema)
    workers = start_workers(dsn, schema, 2)
    try:
        specs = load_specs(db, RUNS, ITEMS)
        submit(db, specs)
        cluster = Cluster(dsn, schema)
        dropped = 0
        for _ in range(8):
            _busy(cluster, rng.uniform(0.2, 1.0))
            dropped += _drop_connections(dsn, [w.pid for w in workers])
        statuses = cluster.until_finished(RUNS, seconds=60)
        alive = [w.poll() is None for w in workers]
        logs = "\n".join(worker_log(w)[-3000:] for w in workers)
    finally:
        stop_all(workers)
    assert dropped >= 8  # every round dropped some of the cluster's connections
    assert alive == [True, True], logs  # the workers reconnected; none died of it
    _check(cluster, specs, statuses, logs)
