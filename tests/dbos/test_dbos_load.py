"""The issue's cluster test: 4 ``reflow worker`` processes, 200 runs with fan-out, questions
answered from the test process (which never drives a run), and retries.
"""

from __future__ import annotations

import time
from collections import defaultdict

import load_flows
import pytest
from load_support import (
    Cluster,
    load_specs,
    max_overlap,
    start_workers,
    stop_all,
    submit,
)

RUNS, ITEMS, WORKERS = 200, 2, 4


@pytest.mark.timeout(300)
def test_a_cluster_of_four_workers_completes_a_load_within_its_limits(
    dsn: str, schema: str, db: str
) -> None:
    load_flows.create_side_table(dsn, schema)
    workers = start_workers(dsn, schema, WORKERS)
    try:
        specs = load_specs(db, RUNS, ITEMS)
        started = time.monotonic()
        submit(db, specs)
        cluster = Cluster(dsn, schema)
        statuses = cluster.until_finished(RUNS, seconds=70)
        took = time.monotonic() - started
    finally:
        stop_all(workers)
    print(f"{RUNS} runs on {WORKERS} workers in {took:.1f}s")
    assert sum(s == "completed" for s in statuses.values()) == RUNS, statuses
    cluster.check_results(specs)
    cluster.check_no_completed_step_ran_again()
    assert cluster.answered == {s["run_id"] for s in specs if s["ask"]}
    executions = cluster.executions()
    by_run: dict[str, set[int]] = defaultdict(set)
    for _, run_id, _, pid, _, _ in executions:
        by_run[run_id].add(pid)
    assert any(len(pids) >= 2 for pids in by_run.values())  # one run's steps on 2 workers
    assert len({pid for pids in by_run.values() for pid in pids}) >= 2
    # Every item ran to its end; a failed first execution ran again (the retry); attempts the
    # submitter had begun when it left ran again on a worker.
    count: dict[tuple[str, int], int] = defaultdict(int)
    for _, run_id, item, _, _, ended in executions:
        count[(run_id, item)] += ended is not None
    for spec in specs:
        for item in range(ITEMS):
            assert count[(spec["run_id"], item)] >= 1 + (item == spec["fail_item"])
    assert max_overlap(executions) <= load_flows.NUM_WORKERS  # num_workers, cluster-wide
