"""``reflow runs ...`` on a journal, and ``reflow run`` journaling by default."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from conftest import MakeRuntime
from durable_flows import Approval, Ask
from test_durable_runs import Three

from reflow.cli import main
from reflow.cli._errors import UsageProblem
from reflow.cli._runs import parse_duration
from reflow.errors import WorkflowCancelledByUser
from reflow.events import InputRequiredEvent

FLOWS = Path(__file__).with_name("durable_flows.py")
SAMPLES = Path(__file__).parent.parent / "cli" / "sample_workflows.py"


def runs(db: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["runs", "--db", db, *args], catch_exceptions=False)


async def _waiting(runtime_workflow: Approval, run_id: str) -> object:
    handler = runtime_workflow.run(run_id=run_id, start_event=Ask(question="go?"))
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    return handler


async def test_list_show_and_events(make_runtime: MakeRuntime, db: str) -> None:
    runtime = make_runtime()
    three = Three(runtime=runtime)
    await three.run(run_id="done-1", n=2)
    await _waiting(Approval(runtime=runtime), "asks-1")

    listed = runs(db, "list")
    assert listed.exit_code == 0, listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].startswith("asks-1  running") and "waiting on HumanResponseEvent" in lines[0]
    assert lines[1].startswith("done-1  completed  test_durable_runs.Three")
    only = json.loads(runs(db, "list", "--status", "completed", "--output", "json").stdout)
    assert [doc["run_id"] for doc in only] == ["done-1"]

    shown = runs(db, "show", "done-1")
    assert "status: completed" in shown.stdout
    assert 'result: {"n": 5, "seen": 2}' in shown.stdout
    assert runs(db, "show", "nope").exit_code == 1

    events = runs(db, "events", "done-1", "--output", "json").stdout.splitlines()
    documents = [json.loads(line) for line in events]
    assert [d["seq"] for d in documents] == list(range(1, len(documents) + 1))
    assert documents[-1]["type"] == "StopEvent"
    rest = runs(db, "events", "done-1", "--after", "3", "--output", "json").stdout.splitlines()
    assert [json.loads(line) for line in rest] == documents[3:]


async def test_send_reaches_a_run_driven_by_a_live_process(
    make_runtime: MakeRuntime, db: str
) -> None:
    runtime = make_runtime()
    handler = await _waiting(Approval(runtime=runtime), "asks-2")
    sent = await asyncio.to_thread(
        runs, db, "send", "asks-2", "--event", '{"response": "from the shell"}'
    )
    assert sent.exit_code == 0, sent.output
    assert "queued for run asks-2" in sent.stdout
    assert await asyncio.wait_for(handler, 10) == "go? from the shell"  # type: ignore[arg-type]
    assert runs(db, "send", "asks-2", "--event", "{}").exit_code == 1  # it has ended


async def test_cancel_of_a_run_no_process_holds_happens_at_once(
    make_runtime: MakeRuntime, db: str
) -> None:
    runtime = make_runtime()
    await _waiting(Approval(runtime=runtime), "asks-3")
    await runtime.destroy()  # releases the run: nobody holds it now
    cancelled = runs(db, "cancel", "asks-3")
    assert cancelled.stdout.strip() == "run asks-3 cancelled"
    assert "status: cancelled" in runs(db, "show", "asks-3").stdout
    later = make_runtime()
    Approval(runtime=later)
    await later.launch()
    with pytest.raises(WorkflowCancelledByUser):
        await later.get_handler("asks-3")
    stream = [type(item.event).__name__ async for item in later.stream_events("asks-3")]
    assert stream[-1] == "WorkflowCancelledEvent"


async def test_prune_from_the_command_line(make_runtime: MakeRuntime, db: str) -> None:
    runtime = make_runtime()
    await Three(runtime=runtime).run(run_id="old", n=1)
    assert runs(db, "prune", "--older-than", "1d").stdout.strip() == "pruned 0 runs"
    await asyncio.sleep(0.05)
    assert runs(db, "prune", "--older-than", "0.01s").stdout.strip() == "pruned 1 run"
    assert runs(db, "list").stdout == ""


def test_durations() -> None:
    assert parse_duration("90") == 90
    assert parse_duration("15m") == 900
    assert parse_duration("1.5h") == 5400
    assert parse_duration("7d") == 7 * 86400
    with pytest.raises(UsageProblem, match="expected a number"):
        parse_duration("soon")


def test_a_bad_journal_path_is_a_usage_error(tmp_path: Path) -> None:
    result = runs(str(tmp_path / "missing" / "runs.db"), "list")
    assert result.exit_code == 2
    assert "no journal at" in result.stderr
    assert not (tmp_path / "missing").exists()


def test_reflow_run_journals_the_run_and_attaches_by_run_id(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    invoke = ["run", f"{SAMPLES}:Hello", "--db", db, "--run-id", "cli-1", "--output", "json"]
    first = CliRunner().invoke(main, invoke, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["result"] == "hello world"
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT run_id, status FROM runs").fetchall() == [("cli-1", "completed")]
    conn.close()
    again = CliRunner().invoke(main, invoke, catch_exceptions=False)
    assert json.loads(again.stdout)["result"] == "hello world"  # attached, not run again


def test_reflow_run_memory_writes_no_journal(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    args = ["run", f"{SAMPLES}:Hello", "--memory", "--db", str(db), "--output", "json"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not db.exists()


async def test_an_event_sent_to_a_run_no_process_holds_waits_for_the_next_launch(
    make_runtime: MakeRuntime, db: str
) -> None:
    first = make_runtime()
    await _waiting(Approval(runtime=first), "asks-4")
    await first.destroy()
    sent = runs(db, "send", "asks-4", "--event", '{"response": "later"}')
    assert "the next process that registers" in sent.stdout
    second = make_runtime()
    Approval(runtime=second)
    await second.launch()  # finds the run released with an event in its inbox, and resumes it
    assert await asyncio.wait_for(second.get_handler("asks-4"), 10) == "go? later"
