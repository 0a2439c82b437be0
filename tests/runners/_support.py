"""Helpers for the runner tests: process scans and the CI rule for missing components."""

from __future__ import annotations

import os
import time

import pytest


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            data = handle.read()
    except OSError:
        return False
    return data[data.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")


def wait_gone(pids: list[int], within: float = 5.0) -> list[int]:
    """The pids still alive after ``within`` seconds (empty when all are gone)."""
    deadline = time.monotonic() + within
    left = [pid for pid in pids if alive(pid)]
    while left and time.monotonic() < deadline:
        time.sleep(0.02)
        left = [pid for pid in left if alive(pid)]
    return left


def require(problem: str | None, what: str) -> None:
    """Skip when ``what`` is unavailable, but fail under CI=true (a missing component fails)."""
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is unavailable under CI=true: {problem}")
    pytest.skip(f"{what} is unavailable: {problem}")
