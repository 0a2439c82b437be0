"""The ``reflow`` group: help, version, and one-line errors."""

from __future__ import annotations

import pytest
from cli_support import Invoke, sample

from reflow._version import __version__


@pytest.mark.parametrize("command", [[], ["run"], ["draw"], ["validate"]])
def test_every_command_has_help(invoke: Invoke, command: list[str]) -> None:
    result = invoke([*command, "--help"])
    assert result.exit_code == 0
    assert "Usage: " in result.stdout


def test_run_help_documents_the_options_and_exit_codes(invoke: Invoke) -> None:
    text = invoke(["run", "--help"]).stdout
    for option in ("--arg", "--json", "--run-id", "--timeout", "--output", "--debug"):
        assert option in text
    assert "Exit codes: 0 success, or the run waits for an answer; 1 the run failed" in text


def test_version(invoke: Invoke) -> None:
    result = invoke(["--version"])
    assert result.exit_code == 0
    assert __version__ in result.stdout


def test_unknown_command_is_bad_usage(invoke: Invoke) -> None:
    result = invoke(["fly"])
    assert result.exit_code == 2
    assert "No such command 'fly'" in result.stderr


def test_missing_target_is_bad_usage(invoke: Invoke) -> None:
    result = invoke(["run"])
    assert result.exit_code == 2
    assert "Missing argument 'TARGET'" in result.stderr


def test_an_unexpected_error_is_one_line(invoke: Invoke, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("something inside the CLI broke")

    monkeypatch.setattr("reflow.cli._run.parse_start_kwargs", broken)
    result = invoke(["run", sample("Hello")])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: unexpected error: RuntimeError: something inside the CLI broke "
        "(run with --debug for the traceback)"
    ]
    debug = invoke(["--debug", "run", sample("Hello")])
    assert debug.exit_code == 1
    assert "Traceback (most recent call last)" in debug.stderr
