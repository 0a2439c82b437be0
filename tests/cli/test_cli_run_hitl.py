"""``reflow run`` asks at the terminal when a workflow needs human input."""

from __future__ import annotations

import json

from cli_support import Invoke, sample


def test_the_prompt_is_answered_from_stdin(invoke: Invoke) -> None:
    result = invoke(["run", sample("Ask")], input="Ada\n")
    assert result.exit_code == 0, result.output
    assert "Your name? Ada\n" in result.stdout
    assert "hi Ada" in result.stdout


def test_several_prompts_get_one_line_each(invoke: Invoke) -> None:
    result = invoke(["run", sample("AskTwice"), "--output", "json"], input="one\ntwo\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"] == ["one", "two"]
    # In JSON mode the questions go to stderr, so stdout stays one document.
    assert "First? " in result.stderr
    assert "Second? " in result.stderr


def test_closed_stdin_fails_an_in_memory_run_with_a_clear_message(invoke: Invoke) -> None:
    result = invoke(["run", sample("Ask"), "--memory"], input="")
    assert result.exit_code == 1
    assert "no answer to 'Your name?': standard input is closed" in result.stderr
