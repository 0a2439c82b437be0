"""Fixtures for driving the ``reflow`` CLI in-process with click's CliRunner."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from cli_support import Invoke
from click.testing import CliRunner, Result

from reflow.cli import main


@pytest.fixture
def invoke() -> Invoke:
    """Run ``reflow ARGS...`` and return click's result (stdout and stderr kept apart)."""

    def run(args: Sequence[str], input: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return run
