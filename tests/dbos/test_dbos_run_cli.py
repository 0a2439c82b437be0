"""``reflow run FILE --db postgresql://...`` and ``reflow runs ... --db postgresql://...``: a run
submitted to a cluster from the command line (followed, or detached), found, answered,
cancelled and resumed there, through real ``python -m reflow`` processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

import load_flows
import pytest
from durable_support import worker_env
from load_support import FLOWS, Cluster, start_workers, stop_all


def reflow(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "reflow", *args],
        env=worker_env(),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=90,
    )


def start_args(db: str, tag: str, ask: bool) -> list[str]:
    fields = {"n": 2, "side": db, "tag": tag, "ask": ask}
    return ["--run-id", tag, "--json", json.dumps(fields)]


def document(done: subprocess.CompletedProcess[str]) -> Any:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def wait_for_question(cluster: Cluster, run_id: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        [(waiting, owner)] = cluster_rows(cluster, run_id)
        if waiting and "HumanResponseEvent" in waiting and owner is None:
            return  # asked, and released from memory: held by nobody
        assert time.monotonic() < deadline, (waiting, owner)
        time.sleep(0.1)


def cluster_rows(cluster: Cluster, run_id: str) -> list[tuple[Any, ...]]:
    from load_support import rows

    return rows(
        cluster.dsn, cluster.schema, "SELECT waiting_on, owner FROM runs WHERE run_id = %s", run_id
    )


@pytest.mark.timeout(240)  # each command is a new interpreter (seconds on a loaded machine)
def test_a_detached_run_is_left_to_the_workers_and_answered_from_the_command_line(
    dsn: str, schema: str, db: str
) -> None:
    load_flows.create_side_table(dsn, schema)
    workers = start_workers(dsn, schema, 1)
    cluster = Cluster(dsn, schema)
    target = f"{FLOWS}:load"
    where = ["--db", dsn, "--schema", schema]
    try:
        argv = [sys.executable, "-m", "reflow", "run", target, *where, "--detach"]
        argv += ["--output", "json", *start_args(db, "cli-1", ask=True)]
        submitting = subprocess.Popen(
            argv,
            env=worker_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        out, err = submitting.communicate(timeout=90)
        assert submitting.returncode == 0, err
        submitted = json.loads(out)
        assert submitted["run_id"] == "cli-1" and submitted["status"] == "submitted"
        assert f"--schema {schema}" in submitted["answer_with"]
        assert submitted["follow_with"].startswith("reflow runs events cli-1 --db ")
        wait_for_question(cluster, "cli-1")
        sent = reflow("runs", "send", "cli-1", *where, "--event", '{"response": "yes"}')
        assert sent.returncode == 0 and "queued for run cli-1" in sent.stdout, sent.stderr
        followed = reflow("runs", "events", "cli-1", *where, "--follow", "--output", "json")
        assert followed.returncode == 0, followed.stderr
        events = [json.loads(line) for line in followed.stdout.splitlines()]
        shown = document(reflow("runs", "show", "cli-1", *where, "--output", "json"))
    finally:
        stop_all(workers)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert [e["type"] for e in events].count("StopEvent") == 1
    assert shown["status"] == "completed"
    assert shown["result"] == load_flows.expected(2, True, "yes")
    # The submitting process ran no step: the worker did.
    pids = {pid for *_, pid, _, _ in cluster.executions()}
    assert pids == {workers[0].pid}


@pytest.mark.timeout(240)  # each command is a new interpreter (seconds on a loaded machine)
def test_a_followed_run_completes_and_a_waiting_one_is_resumed_on_the_cluster(
    dsn: str, schema: str, db: str
) -> None:
    load_flows.create_side_table(dsn, schema)
    workers = start_workers(dsn, schema, 1)
    target = f"{FLOWS}:load"
    where = ["--db", dsn, "--schema", schema]
    try:
        done = document(
            reflow("run", target, *where, "--output", "json", *start_args(db, "cli-2", False))
        )
        assert done["status"] == "completed"
        assert done["result"] == load_flows.expected(2, False)
        # Standard input closed: the question cannot be asked here, the run waits for it.
        left = document(
            reflow("run", target, *where, "--output", "json", *start_args(db, "cli-3", True))
        )
        assert left["status"] == "waiting"
        assert left["resume_with"] == f"reflow runs resume cli-3 --db {dsn} --schema {schema}"
        resumed = reflow("runs", "resume", "cli-3", *where, "--output", "json", stdin="yes\n")
        finished = document(resumed)
    finally:
        stop_all(workers)
    assert finished["status"] == "completed"
    assert finished["result"] == load_flows.expected(2, True, "yes")


@pytest.mark.timeout(240)  # each command is a new interpreter (seconds on a loaded machine)
def test_a_waiting_run_is_cancelled_and_a_missing_journal_named(
    dsn: str, schema: str, db: str
) -> None:
    load_flows.create_side_table(dsn, schema)
    where = ["--db", dsn, "--schema", schema]
    left = document(
        reflow("run", f"{FLOWS}:load", *where, "--output", "json", *start_args(db, "cli-4", True))
    )
    assert left["status"] == "waiting"  # no worker: this process ran it, then left it
    listed = document(reflow("runs", "list", *where, "--output", "json"))
    assert [(d["run_id"], d["status"], d["waiting_on"]) for d in listed] == [
        ("cli-4", "running", ["HumanResponseEvent"])
    ]
    cancelled = reflow("runs", "cancel", "cli-4", *where)
    assert cancelled.returncode == 0 and "run cli-4 cancelled" in cancelled.stdout
    shown = document(reflow("runs", "show", "cli-4", *where, "--output", "json"))
    assert shown["status"] == "cancelled"

    missing = reflow("runs", "list", "--db", dsn, "--schema", f"{schema}_none")
    assert missing.returncode == 2
    assert f"no journal in schema '{schema}_none'" in missing.stderr
    bad = reflow("run", f"{FLOWS}:load", "--db", dsn, "--schema", "no-such schema", "--detach")
    assert bad.returncode == 2 and "--schema" in bad.stderr
