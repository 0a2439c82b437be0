"""Runs survive ``kill -9`` at random moments, again and again.

A worker process drives four runs of ``Crashy`` (a fan-out to three parallel steps, a fan-in,
a chain of eight steps; every step sleeps a little and streams progress) and is killed with
SIGKILL at a random moment; a new worker resumes the journal, and is killed again, many times.
A last worker runs everything to the end.  Then, from the journal and the side table in which
every step execution recorded itself:

- no run is lost and every result equals the uninterrupted result;
- no step whose result was journaled ran again: the execution whose result the journal holds
  is the last execution of that attempt (only attempts in flight at a kill run twice);
- each run's stream, read after all the resumes, is numbered 1..N with no gap, ends with the
  one StopEvent, repeats no event, and holds every progress event of every journaled step.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections import Counter

import durable_flows as flows
from conftest import MakeRuntime
from durable_support import kill, start_worker

from reflow.events import StopEvent

RUNS = 4


def journaled_executions(db: str) -> dict[str, int]:
    """attempt key -> the execution id inside the result the journal kept for it."""
    conn = sqlite3.connect(db)
    try:
        found: dict[str, int] = {}
        for run_id, body in conn.execute("SELECT run_id, body FROM ticks ORDER BY run_id, seq"):
            tick = json.loads(body)
            if tick["type"] != "step_returned" or not isinstance(tick["result"], dict):
                continue
            exec_id = tick["result"].get("value", {}).get("exec_id")
            if exec_id is None:
                continue  # a StopEvent
            key = f"{run_id}:{tick['step_name']}:{tick['attempt_id']}"
            assert key not in found, f"two results journaled for {key}"
            found[key] = exec_id
        return found
    finally:
        conn.close()


async def test_runs_survive_repeated_sigkill(make_runtime: MakeRuntime, db: str, side: str) -> None:
    rng = random.Random(20240611)
    kills = 0
    for _ in range(14):
        worker = start_worker("crash", db, side, str(RUNS))
        time.sleep(rng.uniform(0.25, 1.0))
        if worker.poll() is None:
            kill(worker)
            kills += 1
        else:
            worker.communicate()
    final = start_worker("crash", db, side, str(RUNS))
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, err
    results = json.loads(out.splitlines()[-1])
    expected = {
        f"run-{i}": {"total": flows.expected_total(i), "parts": sum(i * 10 + k for k in range(3))}
        for i in range(RUNS)
    }
    assert results == expected
    assert kills >= 10

    executions = flows.executions(side)
    last_execution = {key: exec_id for exec_id, _, _, key, _, _ in executions}
    journaled = journaled_executions(db)
    steps_per_run = 1 + flows.FAN_OUT + 1 + flows.CHAIN_LENGTH
    assert len(journaled) == RUNS * steps_per_run
    for key, exec_id in journaled.items():
        assert last_execution[key] == exec_id, f"{key} ran again after its result was journaled"
    reruns = sum(count - 1 for count in Counter(key for *_, key, _, _ in executions).values())
    assert reruns <= kills * (1 + flows.FAN_OUT)  # only attempts in flight at a kill re-run

    runtime = make_runtime(auto_resume=False)
    flows.Crashy(runtime=runtime)
    await runtime.launch()
    for i in range(RUNS):
        stream = [item async for item in runtime.stream_events(f"run-{i}", follow=False)]
        assert [item.seq for item in stream] == list(range(1, len(stream) + 1))
        stops = [item for item in stream if isinstance(item.event, StopEvent)]
        assert stops == [stream[-1]]
        progress = [
            (item.event.exec_id, item.event.n)
            for item in stream
            if isinstance(item.event, flows.Progress)
        ]
        assert len(progress) == len(set(progress)), "an event appears twice in the stream"
        for key, exec_id in journaled.items():
            if key.startswith(f"run-{i}:"):
                numbers = [n for ran, n in progress if ran == exec_id]
                assert numbers == list(range(flows.PROGRESS_PER_STEP)), key
