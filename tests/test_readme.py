"""The README keeps its promises: two commands first, CI runs the second, the tour runs."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
FENCE = re.compile(r"^```([\w-]*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def code_blocks() -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(README)]


def test_the_first_code_block_is_the_two_commands() -> None:
    _, first = code_blocks()[0]
    assert first.splitlines() == ["./scripts/demo", "./scripts/test"]
    for command in first.splitlines():
        path = ROOT / command
        assert path.is_file()
        assert path.stat().st_mode & 0o111, f"{command} is not executable"


def test_ci_runs_exactly_the_test_command_under_ci_true() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert "export CI=true" in ci
    assert ci.strip().splitlines()[-1] == "exec ./scripts/test"
    assert (ROOT / ".ci" / "run").stat().st_mode & 0o111


def test_the_demo_runs_an_existing_example() -> None:
    demo = (ROOT / "scripts" / "demo").read_text()
    match = re.search(r'^DEFAULT_TARGET="([^":]+):(\w+)"$', demo, re.MULTILINE)
    assert match is not None
    assert (ROOT / match.group(1)).is_file()


def test_the_quick_tour_runs(tmp_path: Path) -> None:
    tour = next(body for lang, body in code_blocks() if lang == "python")
    code_lines = [line for line in tour.splitlines() if line.strip()]
    assert len(code_lines) <= 18
    script = tmp_path / "tour.py"
    script.write_text(tour)
    completed = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "Rain at dawn."
