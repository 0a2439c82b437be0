"""reflow.server vs llama-agents-server 0.8 on their SQLite stores, side by side.

    python -m benchmarks.server_compare [--repeat 3] [--quick]

reflow runs on ``.venv``; the peer on ``.bench-server-venv`` (created on first use with
``llama-agents-server==0.8.0``).  Each shape runs in fresh processes, alternating the two, and
the table shows medians and the ratio (> 1: reflow is better).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import venv
from pathlib import Path

from benchmarks._execute import parse_result_line

REPO_ROOT = Path(__file__).resolve().parent.parent
PEER_VENV = REPO_ROOT / ".bench-server-venv"
PEER_REQUIREMENTS = ["llama-agents-server==0.8.0", "httpx", "uvicorn"]
# shape -> (size, quick size, metrics with True when higher is better)
SHAPES: dict[str, tuple[int, int, dict[str, bool]]] = {
    "run_stream": (300, 50, {"runs_per_s": True}),
    "post_events": (300, 50, {"p50_ms": False, "p99_ms": False}),
    "start_waiting": (1000, 100, {"ready_s": False, "rss_mb": False}),
    "subscribers": (
        1000,
        100,
        {"events_per_s": True, "p99_ms": False, "kb_per_subscriber": False},
    ),
}


def peer_python() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(PEER_VENV)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS], check=True)
    return python


def run_once(python: Path, impl: str, shape: str, size: int) -> dict[str, float]:
    env = {**os.environ, "BENCH_IMPL": impl}
    command = [str(python), "-m", "benchmarks.cases.server", "--shape", shape, "--n", str(size)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{impl} {shape} failed:\n{done.stderr[-2000:]}")
    metrics: dict[str, float] = parse_result_line(done.stdout)["metrics"]
    return metrics


def _median(samples: list[dict[str, float]], metric: str) -> float | None:
    values = [sample[metric] for sample in samples if metric in sample]
    return statistics.median(values) if values else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--shape", choices=sorted(SHAPES), action="append")
    parser.add_argument("--n", type=int, help="size for every shape (default: per shape)")
    args = parser.parse_args(argv)
    pythons = {"reflow": REPO_ROOT / ".venv" / "bin" / "python", "peer": peer_python()}
    print("| shape | metric | reflow | llama-agents-server 0.8 | ratio |")
    print("|---|---|---|---|---|")
    for shape in args.shape or list(SHAPES):
        size, quick_size, wanted = SHAPES[shape]
        n = args.n or (quick_size if args.quick else size)
        samples: dict[str, list[dict[str, float]]] = {"reflow": [], "peer": []}
        for repetition in range(args.repeat):
            order = ["reflow", "peer"] if repetition % 2 == 0 else ["peer", "reflow"]
            for impl in order:
                try:
                    samples[impl].append(run_once(pythons[impl], impl, shape, n))
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    print(f"{impl} {shape} n={n} did not finish: {exc}"[:300], file=sys.stderr)
        for metric, higher_is_better in wanted.items():
            ours, theirs = _median(samples["reflow"], metric), _median(samples["peer"], metric)
            if ours is None or theirs is None:
                shown = [f"{v:.2f}" if v is not None else "did not finish" for v in (ours, theirs)]
                print(f"| {shape} (n={n}) | {metric} | {shown[0]} | {shown[1]} | - |")
                continue
            ratio = ours / theirs if higher_is_better else theirs / ours
            print(f"| {shape} (n={n}) | {metric} | {ours:.2f} | {theirs:.2f} | {ratio:.1f}x |")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
