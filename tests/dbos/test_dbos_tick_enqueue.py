"""A tick and the step executions it starts commit in one transaction, or not at all."""

from __future__ import annotations

import asyncio

import psycopg
import pytest
from conftest import MakeRuntime, rows
from test_dbos_dispatch import Many, Spray

from reflow.durable import JournalError


def fail_first_work_enqueue(dsn: str, schema: str) -> None:
    """Make the first transaction that enqueues a ``work`` execution fail at that insert."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        conn.execute("CREATE TABLE failed_once (at TIMESTAMPTZ)")
        conn.execute(
            "CREATE FUNCTION fail_once() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f' IF NOT EXISTS (SELECT 1 FROM "{schema}".failed_once) THEN'
            # Recorded outside the failing transaction would need dblink: a sequence is not
            # rolled back, so its first value tells the first attempt.
            f"  IF nextval('\"{schema}\".attempts') = 1 THEN"
            "   RAISE EXCEPTION 'enqueue refused once, by the test';"
            "  END IF;"
            " END IF; RETURN NEW; END $$"
        )
        conn.execute("CREATE SEQUENCE attempts")
        conn.execute(
            f'CREATE TRIGGER fail_once BEFORE INSERT ON "{schema}_dbos".workflow_status'
            f" FOR EACH ROW WHEN (NEW.workflow_uuid LIKE '%:work:%')"
            f' EXECUTE FUNCTION "{schema}".fail_once()'
        )


async def test_a_batch_whose_enqueue_fails_commits_none_of_its_ticks(
    make_runtime: MakeRuntime, dsn: str, schema: str
) -> None:
    runtime = make_runtime(distribute_steps=True)
    workflow = Spray(runtime=runtime, timeout=60)
    await runtime.launch()
    fail_first_work_enqueue(dsn, schema)
    # The spray step returns; the batch with its result and the five ``work`` attempts it
    # starts fails at the first enqueue: the run fails loudly here (docs/durable.md) ...
    with pytest.raises(JournalError, match="enqueue refused once, by the test"):
        await workflow.run(run_id="spray", start_event=Many(n=5))
    # ... and that batch left nothing: no tick past the start, no execution of ``work``.
    ticks = rows(dsn, schema, "SELECT seq FROM ticks WHERE run_id = 'spray'")
    assert ticks == [(1,)]
    queued = "SELECT workflow_uuid, status FROM workflow_status WHERE name = 'reflow_step'"
    assert rows(dsn, f"{schema}_dbos", queued) == [("spray:spray:1", "SUCCESS")]
    await runtime.destroy()
    # The run is still in the journal, unfinished: the next runtime resumes it.  The spray
    # attempt replays by attaching to its finished execution, and the batch that starts the
    # five ``work`` attempts commits this time, with their executions.
    again = make_runtime(distribute_steps=True)
    Spray(runtime=again, timeout=60)
    await again.launch()
    # Within 6 s: an attempt enqueued before is read at once, not at the 10 s fallback poll.
    assert await asyncio.wait_for(again.get_handler("spray"), 6) == list(range(5))
    statuses = rows(dsn, f"{schema}_dbos", queued + " ORDER BY workflow_uuid")
    assert statuses == [("spray:spray:1", "SUCCESS")] + [
        (f"spray:work:{attempt}", "SUCCESS") for attempt in range(2, 7)
    ]
