"""The peer's DBOS runtime (``llama-agents-dbos``) on the 3-step workflow, for
``benchmarks.distributed``: runs/s in the same run as reflow's, printed as a ratio.

The peer runs in its own venv, ``.bench-dbos-venv`` (made on first use), so its DBOS does not
meet reflow's: ``llama-agents-dbos`` 0.7.0 declares ``dbos>=2.18`` but constructs DBOS queues
directly, which DBOS 3.x refuses ("Queue objects cannot be constructed directly"), so the venv
pins the last 2.x DBOS.  The workflow is the same three steps
(``benchmarks/_dbos_peer_child.py``), 50 runs in flight at a time, each run in a fresh schema
dropped afterwards.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import venv
from collections.abc import Callable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV = REPO_ROOT / ".bench-dbos-venv"
PEER = ("llama-agents-dbos==0.7.0", "dbos==2.31.1")
CHILD = Path(__file__).resolve().parent / "_dbos_peer_child.py"
PEER_RUNS = 100  # at most: the peer takes tens of seconds for 100 runs here


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _installed(python: Path) -> bool:
    probe = (
        "import importlib.metadata as m; print(m.version('llama-agents-dbos'), m.version('dbos'))"
    )
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=False)
    wanted = " ".join(spec.split("==")[1] for spec in PEER)
    return done.returncode == 0 and done.stdout.strip() == wanted


def peer_python() -> Path:
    """The venv's interpreter, with the pinned peer installed (made here if needed)."""
    python = VENV / "bin" / "python"
    if python.exists() and _installed(python):
        return python
    if not python.exists():
        _log(f"creating {VENV} for the peer's DBOS runtime ...")
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    _log(f"installing {' '.join(PEER)} into {VENV} ...")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *PEER], check=True)
    return python


Drop = Callable[[str, str], None]  # drops a schema and its ``_dbos`` twin


def peer_runs(dsn: str, count: int, drop: Drop) -> tuple[float | None, str]:
    """The peer's 3-step runs/s, or None and why it could not be measured."""
    try:
        python = peer_python()
    except (OSError, subprocess.CalledProcessError) as exc:
        return None, f"cannot install {' '.join(PEER)}: {exc}"
    schema = f"bench_peer_{secrets.token_hex(3)}"
    try:
        done = subprocess.run(
            [str(python), str(CHILD), dsn, schema, str(count)],
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"{count} runs did not finish in 900 s"
    finally:
        drop(dsn, schema)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return None, f"the peer failed: {last}"
    return float(json.loads(done.stdout.splitlines()[-1])["runs_per_s"]), ""


def peer_rows(dsn: str, count: int, reflow_rate: float, drop: Drop) -> list[tuple[str, float, str]]:
    """The table row of ``benchmarks.distributed`` for the peer, beside reflow's ``reflow_rate``
    (3-step runs/s, steps local, on the same PostgreSQL)."""
    rate, why = peer_runs(dsn, count, drop)
    name = "peer DBOSRuntime (llama-agents-dbos 0.7.0) 3-step runs/s"
    if rate is None:
        return [(name, float("nan"), why)]
    return [(name, rate, f"reflow/peer {reflow_rate / rate:.1f}x ({count} runs)")]
