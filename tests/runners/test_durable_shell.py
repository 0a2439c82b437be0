"""Under DurableRuntime a finished shell step never runs again; an interrupted one re-runs
with the same idempotency key (a worker is SIGKILLed in the middle of the second step)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ._support import wait_gone

WORKER = Path(__file__).with_name("durable_shell_worker.py")


def _start(db: Path, folder: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(db), str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_interrupted_shell_step_reruns_with_the_same_key(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    worker = _start(db, tmp_path)
    slept = tmp_path / "slept"
    deadline = time.monotonic() + 60
    while not (slept.exists() and slept.read_text().strip()):
        assert worker.poll() is None, worker.communicate()[1]
        assert time.monotonic() < deadline, "the second step never started"
        time.sleep(0.05)
    worker.send_signal(signal.SIGKILL)
    worker.communicate()
    # The killed worker's command is an orphan now; end it so it cannot touch the log.
    shell = int(slept.read_text())
    with contextlib.suppress(ProcessLookupError):
        os.killpg(shell, signal.SIGKILL)
    assert wait_gone([shell]) == []

    worker = _start(db, tmp_path)
    out, err = worker.communicate(timeout=120)
    assert worker.returncode == 0, err
    assert json.loads(out.strip().splitlines()[-1]) == {"exit_code": 0}
    lines = (tmp_path / "log").read_text().splitlines()
    firsts = [line for line in lines if line.startswith("first ")]
    seconds = [line for line in lines if line.startswith("second ")]
    assert len(firsts) == 1  # finished before the kill: never re-run
    assert len(seconds) == 2 and seconds[0] == seconds[1]  # same idempotency key
    assert seconds[0].split()[1].startswith("shell-run:second:")
