"""Every benchmark case runs at a tiny size on reflow and prints one well-formed JSON line.

No timing is asserted: the figures only have to be finite and non-negative.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks._execute import parse_result_line  # noqa: E402
from benchmarks._registry import ALL_CASES, ASYNCIO, REFLOW, CaseSpec  # noqa: E402

# The metrics each case promises; the runner's table and docs/performance.md rely on them.
EXPECTED_METRICS: dict[str, set[str]] = {
    "sequential": {"runs_per_s", "p50_ms", "p99_ms"},
    "chain": {"steps_per_s", "run_p50_ms"},
    "fanout": {"seconds"},
    "concurrent": {"seconds", "peak_rss_mb", "rss_growth_mb"},
    "stream": {"events_per_s"},
    "hitl": {"heap_kb_per_waiting_run", "rss_kb_per_waiting_run", "answers_per_s"},
    "import": {"import_ms", "modules_loaded"},
    "agent": {"runs_per_s", "p50_ms", "us_per_agent_step"},
    "floor[chain]": {"steps_per_s", "run_p50_ms"},
    "floor[fanout]": {"seconds"},
    "floor[commit]": {"commits_per_s", "steps_per_s", "run_p50_ms", "runs_per_s", "p50_ms"},
    "durable[three]": {"runs_per_s", "p50_ms", "concurrent_runs_per_s"},
    "durable[sequential]": {"runs_per_s", "p50_ms", "p99_ms"},
    "durable[chain]": {"steps_per_s", "run_p50_ms"},
    "durable[fanout]": {"seconds"},
    "durable[hitl]": {"heap_kb_per_waiting_run", "rss_kb_per_waiting_run", "answers_per_s"},
    "traced": {"steps_per_s", "run_p50_ms"},
    "runners[overhead]": {
        "bare_ms",
        "shell_ms",
        "shell_overhead_ms",
        "bwrap_floor_ms",
        *(f"{b}_{m}" for b in ("bwrap", "landlock") for m in ("available", "ms", "overhead_ms")),
    },
    "runners[stream]": {"mb_per_s", "rss_growth_mb", "lines"},
    "flows[loop]": {
        "iterations_per_s",
        "hand_iterations_per_s",
        "overhead_us_per_node",
        "concurrent8_iterations_per_s",
    },
    "flows[queue]": {"messages_per_s", "p50_ms", "p99_ms", "flow_messages_per_s"},
    "cli": {"terminal_s", "piped_s", "json_s", "terminal_vs_json", "piped_vs_json"},
}


def _metrics_key(spec: CaseSpec) -> str:
    return spec.label if spec.name in ("floor", "durable", "runners", "flows") else spec.name


def test_every_registered_case_has_expected_metrics() -> None:
    assert {_metrics_key(spec) for spec in ALL_CASES} == set(EXPECTED_METRICS)


@pytest.mark.parametrize("spec", ALL_CASES, ids=[spec.label for spec in ALL_CASES])
def test_case_prints_one_json_line_at_tiny_size(spec: CaseSpec) -> None:
    env = dict(os.environ, BENCH_IMPL=REFLOW)
    completed = subprocess.run(
        [sys.executable, *spec.argv(spec.tiny_size)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout.splitlines()) == 1, completed.stdout
    record = parse_result_line(completed.stdout)
    assert record["case"] == spec.name
    assert record["variant"] == spec.variant
    assert record["size"] == spec.tiny_size
    assert record["impl"] == (ASYNCIO if spec.engines == (ASYNCIO,) else REFLOW)
    metrics = record["metrics"]
    assert set(metrics) == EXPECTED_METRICS[_metrics_key(spec)]
    assert all(value >= 0 for value in metrics.values()), metrics
