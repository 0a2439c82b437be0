"""Running one case in one fresh process and reading its JSON line back."""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._common import IMPL_ENV_VAR
from benchmarks._registry import ASYNCIO, CaseSpec

SKIPPED_TOO_SLOW = "skipped: too slow"
NOT_APPLICABLE = "n/a"


@dataclass
class Outcome:
    """What one process reported: its metrics, or the problem that stopped it."""

    spec: CaseSpec
    size: int
    engine: str
    metrics: dict[str, float] = field(default_factory=dict)
    problem: str | None = None
    record: dict[str, Any] | None = None
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem is None


class BadResultLine(ValueError):
    """A case's output was not the one JSON line the runner expects."""


def parse_result_line(stdout: str) -> dict[str, Any]:
    """The JSON record on the last non-empty line of a case's stdout, checked for shape."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise BadResultLine("the case printed nothing on stdout")
    try:
        record = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        shown = lines[-1][:200]
        raise BadResultLine(f"the last stdout line is not JSON ({exc}): {shown!r}") from None
    if not isinstance(record, dict):
        raise BadResultLine(f"the result line is a {type(record).__name__}, not an object")
    for key, kind in (("case", str), ("impl", str), ("size", int), ("metrics", dict)):
        if not isinstance(record.get(key), kind):
            raise BadResultLine(f"the result line's {key!r} is missing or not a {kind.__name__}")
    for name, value in record["metrics"].items():
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            raise BadResultLine(f"metric {name!r} is not a finite number: {value!r}")
    return record


def run_case(
    spec: CaseSpec,
    size: int,
    engine: str,
    python: Path,
    *,
    cwd: Path,
    timeout: float,
    environ: Mapping[str, str] | None = None,
) -> Outcome:
    """Run ``spec`` at ``size`` on ``engine`` with interpreter ``python`` in a fresh process."""
    env = dict(os.environ if environ is None else environ)
    if engine != ASYNCIO:
        env[IMPL_ENV_VAR] = engine
    started = time.perf_counter()
    try:
        completed = subprocess.run(
            [str(python), *spec.argv(size)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Outcome(spec, size, engine, problem=f"timeout after {timeout:g} s")
    except OSError as exc:
        return Outcome(spec, size, engine, problem=f"could not start {python}: {exc}")
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        tail = _last_line(completed.stderr) or _last_line(completed.stdout)
        problem = f"exit {completed.returncode}: {tail}"
        return Outcome(spec, size, engine, problem=problem, wall_seconds=wall)
    try:
        record = parse_result_line(completed.stdout)
    except BadResultLine as exc:
        return Outcome(spec, size, engine, problem=str(exc), wall_seconds=wall)
    metrics = {name: float(value) for name, value in record["metrics"].items()}
    return Outcome(spec, size, engine, metrics=metrics, record=record, wall_seconds=wall)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
