"""A snapshot taken mid-run in one process resumes to completion in another."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from reflow import Context
from reflow.events import HumanResponseEvent, StopEvent
from snapshots.snapshot_flows import Approval

ROOT = Path(__file__).resolve().parents[2]  # the repository, where reflow is installed from


async def test_a_waiting_run_resumes_in_another_process(tmp_path: Path) -> None:
    snapshot_file = tmp_path / "snapshot.json"
    subprocess.run(
        [sys.executable, str(Path(__file__).with_name("snapshot_flows.py")), str(snapshot_file)],
        cwd=ROOT,
        check=True,
        timeout=60,
    )
    snapshot = json.loads(snapshot_file.read_text())
    assert snapshot["is_running"] is True

    workflow = Approval(timeout=10)
    handler = workflow.run(ctx=Context.from_dict(workflow, snapshot))
    await handler.send_event(HumanResponseEvent(response="yes"))
    events = [event async for event in handler.stream_events()]
    assert await handler == "invoice-7:yes"
    assert isinstance(events[-1], StopEvent)
