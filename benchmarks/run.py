"""Run every benchmark case on reflow and on the peer, in alternation, and print one table.

Usage (from the repository root): ``scripts/bench [--quick] [--cases chain,fanout] [--repeat K]
[--json out.json]``. reflow runs on the repository's ``.venv``; the peer
(``llama-index-workflows``) runs in ``.bench-venv``, created on first use. Each repetition of each
case and size starts a fresh process per engine, and the engine that goes first alternates.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
import venv
from collections.abc import Sequence
from pathlib import Path

from benchmarks._common import positive_int
from benchmarks._execute import NOT_APPLICABLE, SKIPPED_TOO_SLOW, Outcome, run_case
from benchmarks._registry import ASYNCIO, PEER, REFLOW, CaseSpec, select_cases
from benchmarks._report import print_rich, problem_notes, render_plain, summarize, to_json

REPO_ROOT = Path(__file__).resolve().parent.parent
PEER_REQUIREMENT = "llama-index-workflows==2.26.1"
PEER_DISTRIBUTION, PEER_VERSION = PEER_REQUIREMENT.split("==")
# Installed beside the peer for the ``agent`` case (llama-index-core's agents on each engine).
PEER_COMPANIONS = ("llama-index-core>=0.14,<0.15",)
BENCH_VENV = REPO_ROOT / ".bench-venv"
DEFAULT_REPEAT = 3
QUICK_REPEAT = 1
DEFAULT_TIMEOUT = 300.0
DEFAULT_PEER_FANOUT_MAX = 2_000


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n")[0])
    parser.add_argument("--cases", help="comma-separated case names or labels (default: all)")
    parser.add_argument(
        "--repeat",
        type=positive_int,
        help=f"processes per engine, case and size (default {DEFAULT_REPEAT}; {QUICK_REPEAT} "
        "with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="small sizes, one repetition")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every result here")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds before one case process is killed (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument(
        "--peer-fanout-max",
        type=positive_int,
        default=DEFAULT_PEER_FANOUT_MAX,
        help="largest fanout size the peer runs; above it the cell reads "
        f"'{SKIPPED_TOO_SLOW}' (default {DEFAULT_PEER_FANOUT_MAX})",
    )
    parser.add_argument("--only", choices=(REFLOW, PEER), help="run one engine only")
    parser.add_argument(
        "--reflow-python", type=Path, help="interpreter with reflow (default .venv/bin/python)"
    )
    parser.add_argument(
        "--peer-python", type=Path, help="interpreter with the peer (default: .bench-venv)"
    )
    parser.add_argument("--plain", action="store_true", help="plain-text table, even with rich")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error(f"--timeout must be positive, got {args.timeout:g}")
    try:
        args.specs = select_cases(args.cases)
    except ValueError as exc:
        parser.error(str(exc))
    if args.repeat is None:
        args.repeat = QUICK_REPEAT if args.quick else DEFAULT_REPEAT
    return args


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def reflow_python(explicit: Path | None) -> Path:
    """The interpreter that has reflow: the given one, else the repository's ``.venv``."""
    if explicit is not None:
        return explicit
    candidate = REPO_ROOT / ".venv" / "bin" / "python"
    return candidate if candidate.exists() else Path(sys.executable)


def _installed_peer_version(python: Path) -> str | None:
    probe = f"import importlib.metadata as m; print(m.version({PEER_DISTRIBUTION!r}))"
    try:
        done = subprocess.run(
            [str(python), "-c", probe], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def _has_companions(python: Path) -> bool:
    try:
        done = subprocess.run(
            [str(python), "-c", "import llama_index.core"], capture_output=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def peer_python(explicit: Path | None) -> Path:
    """The interpreter that has the peer: the given one, else ``.bench-venv`` (made if needed)."""
    if explicit is not None:
        return explicit
    python = BENCH_VENV / "bin" / "python"
    if (
        python.exists()
        and _installed_peer_version(python) == PEER_VERSION
        and _has_companions(python)
    ):
        return python
    if not python.exists():
        _log(f"creating {BENCH_VENV} for the peer engine ...")
        venv.EnvBuilder(with_pip=True, clear=True).create(BENCH_VENV)
    _log(f"installing {PEER_REQUIREMENT} into {BENCH_VENV} ...")
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", PEER_REQUIREMENT, *PEER_COMPANIONS],
        check=True,
    )
    return python


def _engines_for(spec: CaseSpec, only: str | None) -> list[str]:
    if only is None or spec.engines == (ASYNCIO,):
        return list(spec.engines)
    return [engine for engine in spec.engines if engine == only]


def _rotated(engines: Sequence[str], repetition: int) -> list[str]:
    """The engines in the order to run them at ``repetition``: whoever went first goes last."""
    if not engines:
        return []
    shift = repetition % len(engines)
    return [*engines[shift:], *engines[:shift]]


def run_all(
    specs: Sequence[CaseSpec],
    *,
    repeat: int,
    quick: bool,
    interpreters: dict[str, Path],
    timeout: float,
    peer_fanout_max: int,
    only: str | None = None,
) -> list[Outcome]:
    """Run every case at every size ``repeat`` times per engine, alternating the engines."""
    outcomes: list[Outcome] = []
    for spec in specs:
        engines = _engines_for(spec, only)
        for size in spec.quick_sizes if quick else spec.sizes:
            for repetition in range(repeat):
                for engine in _rotated(engines, repetition):
                    if engine == PEER and spec.peer_capped and size > peer_fanout_max:
                        outcome = Outcome(spec, size, engine, problem=SKIPPED_TOO_SLOW)
                    elif engine not in interpreters:
                        outcome = Outcome(spec, size, engine, problem=NOT_APPLICABLE)
                    else:
                        outcome = run_case(
                            spec,
                            size,
                            engine,
                            interpreters[engine],
                            cwd=REPO_ROOT,
                            timeout=timeout,
                        )
                        status = "ok" if outcome.ok else outcome.problem
                        _log(
                            f"{spec.label} n={size} #{repetition + 1}/{repeat} {engine}: "
                            f"{status} ({outcome.wall_seconds:.1f} s)"
                        )
                    outcomes.append(outcome)
    return outcomes


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    specs: list[CaseSpec] = args.specs
    needs_peer = args.only != REFLOW and any(PEER in spec.engines for spec in specs)
    interpreters = {ASYNCIO: reflow_python(args.reflow_python)}
    if args.only != PEER:
        interpreters[REFLOW] = interpreters[ASYNCIO]
    if needs_peer:
        interpreters[PEER] = peer_python(args.peer_python)
    started = time.perf_counter()
    outcomes = run_all(
        specs,
        repeat=args.repeat,
        quick=args.quick,
        interpreters=interpreters,
        timeout=args.timeout,
        peer_fanout_max=args.peer_fanout_max,
        only=args.only,
    )
    rows = summarize(outcomes)
    title = (
        f"reflow vs {PEER_REQUIREMENT}: median of {args.repeat} process(es); "
        "ratio > 1 means reflow is better"
    )
    if args.plain:
        print(title)
        print(render_plain(rows))
    else:
        try:
            print_rich(rows, title)
        except ImportError:
            print(title)
            print(render_plain(rows))
    notes = problem_notes(outcomes)
    for note in notes:
        print(f"problem: {note}")
    if args.json is not None:
        meta = {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "repeat": args.repeat,
            "quick": args.quick,
            "peer": PEER_REQUIREMENT,
            "interpreters": {engine: str(path) for engine, path in interpreters.items()},
            "seconds": time.perf_counter() - started,
        }
        args.json.write_text(json.dumps(to_json(rows, outcomes, meta), indent=2) + "\n")
        _log(f"wrote {args.json}")
    return 1 if notes else 0


if __name__ == "__main__":
    sys.exit(main())
