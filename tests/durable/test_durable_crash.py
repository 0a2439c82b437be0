"""Runs survive ``kill -9`` at random moments, again and again.

A worker process starts a wave of two ``Crashy`` runs (a fan-out to three parallel steps, a
fan-in, a chain of eight steps; every step sleeps a little and streams progress), resumes the
runs of earlier waves, and is killed with SIGKILL at a random moment; this repeats for 14
waves.  A last worker runs everything to the end.  Then, from the journal and the side table
in which every step execution recorded itself:

- no run is lost and every result equals the uninterrupted result;
- no step whose result was journaled ran again: the execution whose result the journal holds
  is the last execution of that attempt (only attempts in flight at a kill run twice);
- each run's stream, read after all the resumes, is numbered 1..N with no gap, ends with the
  one StopEvent, and holds each progress write of every step attempt exactly once (a re-run
  attempt skips the writes its interrupted execution already journaled).
"""

from __future__ import annotations

import json
import random
import sqlite3
import time

import durable_flows as flows
from conftest import MakeRuntime
from durable_support import kill, read_line, start_worker

from reflow.events import StopEvent

RUNS = 2
WAVES = 14


def journaled_executions(db: str) -> dict[str, int]:
    """attempt key -> the execution id inside the result the journal kept for it."""
    conn = sqlite3.connect(db)
    try:
        found: dict[str, int] = {}
        for run_id, body in conn.execute("SELECT run_id, body FROM ticks ORDER BY run_id, seq"):
            tick = json.loads(body)
            if tick["type"] != "step_returned" or not isinstance(tick["result"], dict):
                continue
            exec_id = tick["result"]["value"]["exec_id"]
            key = f"{run_id}:{tick['step_name']}:{tick['attempt_id']}"
            assert key not in found, f"two results journaled for {key}"
            found[key] = exec_id
        return found
    finally:
        conn.close()


async def test_runs_survive_repeated_sigkill(make_runtime: MakeRuntime, db: str, side: str) -> None:
    rng = random.Random(20240611)
    kills = 0
    for wave in range(1, WAVES + 1):
        worker = start_worker("crash", db, side, str(RUNS), str(wave))
        # Count from the moment its runs are under way, not from the process start: on a busy
        # machine the start alone can take longer than the whole window.
        read_line(worker, "started")
        time.sleep(rng.uniform(0.05, 0.5))
        if worker.poll() is None:
            kill(worker)
            kills += 1
        else:
            worker.communicate()
    final = start_worker("crash", db, side, str(RUNS), str(WAVES))
    out, err = final.communicate(timeout=60)
    assert final.returncode == 0, err
    results = json.loads(out.splitlines()[-1])
    expected = {
        f"w{wave}-{i}": {"total": flows.expected_total(i), "parts": 30 * i + 3}
        for wave in range(WAVES)
        for i in range(RUNS)
    }
    assert results == expected
    assert kills >= WAVES - 2

    executions = flows.executions(side)
    last_execution = {key: exec_id for exec_id, _, _, key, _, _ in executions}
    key_of = {exec_id: key for exec_id, _, _, key, _, _ in executions}
    journaled = journaled_executions(db)
    steps_per_run = 1 + flows.FAN_OUT + 1 + flows.CHAIN_LENGTH
    assert len(journaled) == WAVES * RUNS * steps_per_run
    for key, exec_id in journaled.items():
        assert last_execution[key] == exec_id, f"{key} ran again after its result was journaled"
    pids_by_key: dict[str, list[int]] = {}
    for _, _, _, key, pid, _ in executions:
        pids_by_key.setdefault(key, []).append(pid)
    for key, pids in pids_by_key.items():
        # An attempt runs again only in a new process, after the one running it was killed.
        assert len(pids) == len(set(pids)), f"{key} ran twice in one process"
    assert any(len(pids) > 1 for pids in pids_by_key.values())  # kills did hit running steps

    runtime = make_runtime(auto_resume=False)
    flows.Crashy(runtime=runtime)
    await runtime.launch()
    for run_id in expected:
        stream = [item async for item in runtime.stream_events(run_id, follow=False)]
        assert [item.seq for item in stream] == list(range(1, len(stream) + 1))
        stops = [item for item in stream if isinstance(item.event, StopEvent)]
        assert stops == [stream[-1]]
        progress = [
            (key_of[item.event.exec_id], item.event.n)
            for item in stream
            if isinstance(item.event, flows.Progress)
        ]
        for key in journaled:
            if key.startswith(f"{run_id}:"):
                # Each write of the attempt once, in order, whichever execution made it.
                numbers = [n for written_by, n in progress if written_by == key]
                assert numbers == list(range(flows.PROGRESS_PER_STEP)), key
