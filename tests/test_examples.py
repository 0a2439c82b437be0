"""Every example in ``examples/`` runs, from the CLI and as a script, and gives its result."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reflow.cli import main

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# What each example returns when run with no arguments (the human-in-the-loop one is answered
# with "Ada"), and a line its `python examples/x.py` run prints.
EXPECTED: dict[str, tuple[Any, str]] = {
    "linear": (
        {"words": 10, "top": {"as": 2, "arrives": 1, "each": 1}},
        "{'words': 6, 'top': {'cat': 2, 'the': 2, 'other': 1}}",
    ),
    "branching": ("7 is odd; 3n + 1 is 22", "4 is even; half of it is 2"),
    "loop": (
        {"text": "Reflow loops loops loops loops", "rounds": 5},
        "{'text': 'Reflow loops loops loops loops', 'rounds': 5}",
    ),
    "fan_out_fan_in": ({"files": 6, "lines": 105}, "{'files': 5, 'lines': 75}"),
    "human_in_the_loop": ("Hello, Ada!", "Hello, Ada!"),
    "streaming_progress": (
        {"mirror-a": "320 KiB", "mirror-b": "320 KiB"},
        "mirror-b: 5/5",
    ),
    "typed_state": (
        {"items": {"tea": 2, "bread": 1}, "unknown": [], "total": 9.0},
        "{'items': {'milk': 1, 'tea': 1}, 'unknown': ['jam'], 'total': 4.75}",
    ),
    "retries": (
        {
            "status": "saved for a later retry",
            "failed_step": "publish",
            "error": "publisher is down; could not publish 42 records",
        },
        "'failed_step': 'publish'",
    ),
    "resources": (
        {"value": "teal", "client_calls": 2},
        "{'value': 'large', 'client_calls': 2}",
    ),
}
ANSWERS = "Ada\n"


def test_every_example_is_listed() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.py")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_says_what_it_shows_and_has_workflow_and_main(name: str) -> None:
    module = ast.parse((EXAMPLES / f"{name}.py").read_text())
    docstring = ast.get_docstring(module)
    assert docstring is not None
    assert "Shows" in docstring
    assigned = {
        target.id
        for node in module.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    functions = {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
    assert "workflow" in assigned
    assert "main" in functions


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_from_the_cli(name: str, tmp_path: Path) -> None:
    target = f"{EXAMPLES / name}.py:workflow"
    journal = str(tmp_path / "runs.db")  # `reflow run` journals the run; not in the checkout
    result = CliRunner().invoke(
        main,
        ["run", target, "--output", "json", "--db", journal],
        input=ANSWERS,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["status"] == "completed"
    assert document["result"] == EXPECTED[name][0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs_as_a_script(name: str) -> None:
    completed = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py")],
        input=ANSWERS,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert EXPECTED[name][1] in completed.stdout
