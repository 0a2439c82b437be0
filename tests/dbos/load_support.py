"""A cluster load for the DBOSRuntime tests: ``reflow worker`` processes on ``LoadWorkflow``,
runs submitted by another process, questions answered from the test process through the
journal's inbox (as ``reflow runs send`` does: the test process never drives a run), and the
checks made afterwards on the journal and the side table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import load_flows
import psycopg
from conftest import rows as rows_once
from durable_support import worker_env

from reflow.dbos._journal import PgJournal
from reflow.durable._cli import JournalFile
from reflow.durable._errors import JournalError

HERE = Path(__file__).resolve().parent


def rows(dsn: str, schema: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    """The test's reads, patient with a server that is out of connections for a moment (the
    PostgreSQL of the tests is shared, and a cluster under load holds many)."""
    for _ in range(100):
        try:
            return rows_once(dsn, schema, sql, *params)
        except psycopg.OperationalError as exc:
            if "too many clients" not in str(exc):
                raise
            time.sleep(0.1)
    return rows_once(dsn, schema, sql, *params)


FLOWS = str(HERE / "load_flows.py")
ANSWER = "yes"


def start_load_worker(dsn: str, schema: str) -> subprocess.Popen[str]:
    """A ``reflow worker`` on ``load``; its stderr goes to a file (a pipe nobody reads would
    fill up with a loaded worker's warnings and freeze it)."""
    # The default lease (15 s): a worker on this host that dies is noticed at once (its PID is
    # gone); a short lease would take live workers of a loaded machine for dead ones.
    argv = [sys.executable, "-m", "reflow", "worker", f"{FLOWS}:load", "--db", dsn]
    argv += ["--schema", schema]
    with tempfile.NamedTemporaryFile(
        "w+", prefix="reflow-worker-", suffix=".log", delete=False
    ) as log:
        process = subprocess.Popen(
            argv, env=worker_env(), stdout=subprocess.DEVNULL, stderr=log, text=True
        )
    _logs[process.pid] = log.name
    return process


_logs: dict[int, str] = {}


def worker_log(process: subprocess.Popen[str]) -> str:
    return Path(_logs[process.pid]).read_text(errors="replace")


def wait_ready(process: subprocess.Popen[str], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while "worker ready: " not in worker_log(process):
        assert process.poll() is None, f"the worker exited: {worker_log(process)}"
        assert time.monotonic() < deadline, f"the worker is not ready: {worker_log(process)}"
        time.sleep(0.05)


def start_workers(dsn: str, schema: str, count: int) -> list[subprocess.Popen[str]]:
    """``count`` workers, ready; the first alone, so that it creates the schemas."""
    first = start_load_worker(dsn, schema)
    workers = [first]
    try:
        wait_ready(first)
        workers += [start_load_worker(dsn, schema) for _ in range(count - 1)]
        for worker in workers[1:]:
            wait_ready(worker)
    except BaseException:
        stop_all(workers)
        raise
    return workers


def stop_all(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
        Path(_logs.pop(process.pid)).unlink(missing_ok=True)


def load_specs(db: str, count: int, n: int) -> list[dict[str, Any]]:
    """``count`` runs of ``n`` items: every other run asks a question, every third retries."""
    return [
        {
            "run_id": f"load-{i}",
            "tag": f"load-{i}",
            "n": n,
            "side": db,
            "ask": i % 2 == 0,
            "fail_item": i % n if i % 3 == 0 else -1,
        }
        for i in range(count)
    ]


def submit(db: str, specs: list[dict[str, Any]]) -> None:
    done = subprocess.run(
        [sys.executable, str(HERE / "load_submit.py"), db, json.dumps(specs)],
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "submitted" in done.stdout, done.stderr


class Cluster:
    """The test's view of the journal: runs, questions to answer, outcomes."""

    def __init__(self, dsn: str, schema: str) -> None:
        self.dsn, self.schema = dsn, schema
        self.answered: set[str] = set()

    def answer_questions(self) -> int:
        """Answer every run waiting for a person (once each), through the inbox."""
        waiting = rows(
            self.dsn,
            self.schema,
            "SELECT run_id FROM runs WHERE status = 'running' AND waiting_on LIKE %s",
            "%HumanResponseEvent%",
        )
        fresh = [run_id for (run_id,) in waiting if run_id not in self.answered]
        if not fresh:
            return 0
        event = {
            "__is_pydantic": True,
            "qualified_name": "reflow.events.HumanResponseEvent",
            "value": {"response": ANSWER},
        }
        try:
            with JournalFile(self.dsn, journal=PgJournal(self.dsn, self.schema)) as journal:
                for run_id in fresh:
                    journal.send(run_id, event, None)
                    self.answered.add(run_id)
        except JournalError as exc:  # the shared server is out of connections: next round
            assert "too many clients" in str(exc), exc
        return len(fresh)

    def statuses(self) -> dict[str, str]:
        return dict(rows(self.dsn, self.schema, "SELECT run_id, status FROM runs"))

    def until_finished(
        self, count: int, seconds: float, between: Callable[[], None] | None = None
    ) -> dict[str, str]:
        """Answer questions until ``count`` runs have ended (or ``seconds`` pass)."""
        deadline = time.monotonic() + seconds
        while True:
            self.answer_questions()
            statuses = self.statuses()
            finished = [s for s in statuses.values() if s != "running"]
            if len(finished) >= count or time.monotonic() > deadline:
                return statuses
            if between is not None:
                between()
            time.sleep(0.1)

    def outcomes(self) -> dict[str, Any]:
        found = rows(self.dsn, self.schema, "SELECT run_id, outcome FROM runs")
        return {run_id: json.loads(outcome) for run_id, outcome in found if outcome}

    def executions(self) -> list[tuple[int, str, int, int, float, float | None]]:
        return rows(
            self.dsn, self.schema, "SELECT id, run_id, item, pid, started, ended FROM side_exec"
        )

    def describe(self, run_ids: list[str]) -> str:
        """What a failed check shows of runs that did not finish: their row, last ticks, and
        DBOS's record of their step executions."""
        lines = []
        for run_id in run_ids[:5]:
            [row] = rows(
                self.dsn,
                self.schema,
                "SELECT status, owner, waiting_on, wake_at, last_seq FROM runs WHERE run_id = %s",
                run_id,
            )
            ticks = rows(
                self.dsn,
                self.schema,
                "SELECT seq, left(body, 160) FROM ticks WHERE run_id = %s ORDER BY seq DESC"
                " LIMIT 4",
                run_id,
            )
            steps = rows(
                self.dsn,
                f"{self.schema}_dbos",
                "SELECT workflow_uuid, status, executor_id FROM workflow_status"
                " WHERE workflow_uuid LIKE %s",
                f"{run_id}:%",
            )
            inbox = rows(
                self.dsn, self.schema, "SELECT count(*) FROM inbox WHERE run_id = %s", run_id
            )
            lines.append(f"{run_id}: {row} inbox={inbox} ticks={ticks} dbos={steps}")
        owners = rows(self.dsn, self.schema, "SELECT owner, pid, heartbeat_at FROM processes")
        return "\n".join([*lines, f"processes: {owners}"])

    # -- checks ----------------------------------------------------------------------------

    def check_results(self, specs: list[dict[str, Any]]) -> None:
        """Every run completed with the result of an uninterrupted run."""
        outcomes = self.outcomes()
        statuses = self.statuses()
        for spec in specs:
            run_id = spec["run_id"]
            assert statuses.get(run_id) == "completed", (run_id, statuses.get(run_id))
            want = load_flows.expected(spec["n"], spec["ask"], ANSWER)
            assert outcomes[run_id]["result"]["value"]["result"] == want, outcomes[run_id]

    def check_no_completed_step_ran_again(self) -> None:
        """The execution whose result the journal kept is the last of its item."""
        last: dict[tuple[str, int], int] = {}
        for exec_id, run_id, item, *_ in self.executions():
            last[(run_id, item)] = max(exec_id, last.get((run_id, item), 0))
        kept = 0
        for run_id, body in rows(self.dsn, self.schema, "SELECT run_id, body FROM ticks"):
            tick = json.loads(body)
            if tick["type"] != "step_returned" or tick["step_name"] != "work":
                continue
            result = tick["result"]
            if not isinstance(result, dict) or "exec_id" not in result.get("value", {}):
                continue  # a failed attempt
            value = result["value"]
            assert last[(run_id, value["i"])] == value["exec_id"], (
                f"{run_id} item {value['i']} ran again after its result was journaled"
            )
            kept += 1
        assert kept, "no step result was journaled"

    def check_streams(self, specs: list[dict[str, Any]]) -> None:
        """Each run's stream is numbered 1..n, with one Progress per item and one StopEvent."""
        found: dict[str, list[tuple[int, str]]] = {}
        for run_id, seq, body in rows(
            self.dsn, self.schema, "SELECT run_id, seq, body FROM events ORDER BY run_id, seq"
        ):
            found.setdefault(run_id, []).append((int(seq), body))
        for spec in specs:
            stream = found[spec["run_id"]]
            assert [seq for seq, _ in stream] == list(range(1, len(stream) + 1))
            names = [_event_name(body) for _, body in stream]
            progress = sorted(
                json.loads(body)["value"]["i"]
                for (_, body), name in zip(stream, names, strict=True)
                if name == "Progress"
            )
            assert progress == list(range(spec["n"])), (spec["run_id"], progress)
            assert names.count("StopEvent") == 1, (spec["run_id"], names)


def _event_name(body: str) -> str:
    """The class name of a stored event (internal step-state events have none)."""
    data = json.loads(body)
    if isinstance(data, dict) and "qualified_name" in data:
        return str(data["qualified_name"]).rsplit(".", 1)[-1]
    return ""


def max_overlap(executions: list[tuple[int, str, int, int, float, float | None]]) -> int:
    """The most executions that ran at once (started, not yet ended) in the side table."""
    edges = []
    for *_, started, ended in executions:
        if ended is not None:
            edges += [(started, 1), (ended, -1)]
    running = peak = 0
    for _, step in sorted(edges):
        running += step
        peak = max(peak, running)
    return peak
