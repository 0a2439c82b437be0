"""``cli``: the same fan-out through ``reflow run`` in a terminal, piped, and ``--output json``.

What the command line's own output costs: the fan-out (``_cli_flow.py``, N items on 10 workers)
runs in memory in a fresh ``python -m reflow`` process three ways, with a pseudo-terminal as its
output (the live table), with a pipe (the summary) and with ``--output json`` (no progress at
all).  The run's seconds are the ones the command prints (``completed in`` / ``"seconds"``),
which leave out the process start; each is the best of ``REPEATS`` runs, the noise of a
shared machine being one-sided.  ``terminal_vs_json`` should stay within 1.1.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._common import BenchmarkSetupError, emit, engine_version, size_parser

CASE = "cli"
FLOW = Path(__file__).with_name("_cli_flow.py")
_COMPLETED = re.compile(r"completed in ([0-9.]+)s")
_LIMIT_SECONDS = 600.0
REPEATS = 3


def _command(n: int, *extra: str) -> list[str]:
    target = f"{FLOW}:FanOut"
    return [sys.executable, "-m", "reflow", "run", target, "--memory", "--arg", f"n={n}", *extra]


def _in_terminal(command: list[str]) -> str:
    """Run ``command`` with a pseudo-terminal for its input and output; what it printed."""
    controller, attached = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "120"}
    process = subprocess.Popen(command, stdin=attached, stdout=attached, stderr=attached, env=env)
    os.close(attached)
    chunks: list[bytes] = []
    deadline = time.monotonic() + _LIMIT_SECONDS
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(controller, 65536)
            except OSError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(controller)
        process.wait(timeout=_LIMIT_SECONDS)
    return b"".join(chunks).decode(errors="replace")


def _seconds(text: str) -> float:
    found = _COMPLETED.findall(re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text))
    if not found:
        raise BenchmarkSetupError(f"cli: the run did not complete:\n{text[-2000:]}")
    return float(found[-1])


def _piped(n: int) -> float:
    run = subprocess.run(
        _command(n), capture_output=True, text=True, timeout=_LIMIT_SECONDS, check=False
    )
    return _seconds(run.stdout)


def _json(n: int) -> float:
    run = subprocess.run(
        _command(n, "--output", "json"),
        capture_output=True,
        text=True,
        timeout=_LIMIT_SECONDS,
        check=False,
    )
    try:
        return float(json.loads(run.stdout)["seconds"])
    except (ValueError, KeyError) as exc:
        raise BenchmarkSetupError(f"cli: no JSON result: {run.stderr[-2000:]}") from exc


def measure(n: int) -> dict[str, float]:
    terminal = piped = quiet = float("inf")
    # Interleaved, so that a busy moment does not favour one mode.
    for _ in range(REPEATS if n >= 100 else 1):
        terminal = min(terminal, _seconds(_in_terminal(_command(n))))
        piped = min(piped, _piped(n))
        quiet = min(quiet, _json(n))
    return {
        "terminal_s": terminal,
        "piped_s": piped,
        "json_s": quiet,
        "terminal_vs_json": terminal / quiet,
        "piped_vs_json": piped / quiet,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = size_parser(__doc__ or CASE, default_n=2_000).parse_args(argv)
    emit(CASE, "reflow", args.n, measure(args.n), version=engine_version("reflow"))


if __name__ == "__main__":
    main()
