"""A flow iteration journaled by the durable runtime resumes in another process after SIGKILL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CHILD = [sys.executable, "-m", "tests.flows._durable_child"]


def test_an_iteration_killed_mid_node_resumes_in_a_new_process(tmp_path: Path) -> None:
    journal = str(tmp_path / "runs.db")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    first = subprocess.Popen(
        [*CHILD, journal, "start", "30"], cwd=REPO, env=env, stdout=subprocess.PIPE, text=True
    )
    assert first.stdout is not None
    assert first.stdout.readline().strip() == "started"
    time.sleep(0.5)  # the run is inside the 30-second delay node by now
    first.kill()
    first.wait(10)
    second = subprocess.run(
        [*CHILD, journal, "resume", "0.01"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout.splitlines()[-1])
    out = result["outputs"]["slow"]
    assert out["data_transformer"] == "A" and out["counter"]["current"] == 0
