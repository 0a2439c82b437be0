"""Helpers for the durable tests: worker subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKER = HERE / "durable_worker.py"


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(HERE), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env


def start_worker(*args: str) -> subprocess.Popen[str]:
    """``durable_worker.py ARGS`` in a new interpreter, its output piped."""
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        env=worker_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_line(process: subprocess.Popen[str], expected: str) -> None:
    """Wait for the worker to print ``expected``; fail with its stderr if it exits first."""
    assert process.stdout is not None
    for line in process.stdout:
        if line.strip() == expected:
            return
    process.wait()
    stderr = process.stderr.read() if process.stderr is not None else ""
    raise AssertionError(f"worker exited ({process.returncode}) before {expected!r}:\n{stderr}")


def kill(process: subprocess.Popen[str]) -> None:
    """SIGKILL the worker and reap it (a zombie would still look alive)."""
    process.kill()
    process.communicate()
