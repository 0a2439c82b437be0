"""``reflow validate`` and ``reflow draw``."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import Invoke, sample


def test_validate_a_valid_workflow(invoke: Invoke) -> None:
    result = invoke(["validate", sample("Hello")])
    assert result.exit_code == 0, result.output
    assert "is valid (starts with Greeting, stops with StopEvent)" in result.stdout


def test_validate_mentions_human_input(invoke: Invoke) -> None:
    result = invoke(["validate", sample("Ask")])
    assert result.exit_code == 0, result.output
    assert "asks for human input" in result.stdout


def test_validate_an_invalid_workflow_exits_2_with_the_message(invoke: Invoke) -> None:
    result = invoke(["validate", sample("Invalid")])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: invalid workflow: ")
    assert "Orphan" in result.stderr
    assert "Traceback" not in result.output


def test_validate_a_bad_target_exits_2(invoke: Invoke) -> None:
    result = invoke(["validate", "nowhere/missing.py:wf"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "Error: no such file: nowhere/missing.py"


def test_draw_mermaid_to_stdout(invoke: Invoke) -> None:
    result = invoke(["draw", sample("Hello"), "--format", "mermaid"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flowchart TD")
    assert "greet" in result.stdout


def test_draw_mermaid_to_a_file(invoke: Invoke, tmp_path: Path) -> None:
    target = tmp_path / "flow.mmd"
    result = invoke(["draw", sample("hello"), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text().startswith("flowchart TD")
    assert f"Wrote {target}" in result.stderr
    assert result.stdout == ""


def test_draw_html_defaults_to_a_file_in_the_current_directory(
    invoke: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = invoke(["draw", sample("Hello"), "--format", "html"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "workflow_all_flows.html").read_text()
    assert "greet" in html


def test_draw_rejects_an_unknown_format(invoke: Invoke) -> None:
    result = invoke(["draw", sample("Hello"), "--format", "png"])
    assert result.exit_code == 2
    assert "'png' is not one of 'mermaid', 'html'" in result.stderr
