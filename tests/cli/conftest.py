"""Fixtures for driving the ``reflow`` CLI in-process with click's CliRunner."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from cli_support import Invoke
from click.testing import CliRunner, Result

from reflow.cli import main


@pytest.fixture(autouse=True)
def _journal_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`reflow run` journals into runs.db by default: keep it out of the working directory."""
    monkeypatch.setenv("REFLOW_RUNS_DB", str(tmp_path / "runs.db"))


@pytest.fixture
def invoke() -> Invoke:
    """Run ``reflow ARGS...`` and return click's result (stdout and stderr kept apart)."""

    def run(args: Sequence[str], input: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return run
