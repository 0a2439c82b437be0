"""``reflow run``: results, start arguments, failures, timeouts and exit codes."""

from __future__ import annotations

import json

from cli_support import Invoke, sample


def test_prints_the_result_and_exits_0(invoke: Invoke) -> None:
    result = invoke(["run", sample("Hello")])
    assert result.exit_code == 0, result.output
    assert "hello world" in result.stdout
    assert "completed in" in result.stdout


def test_output_that_is_not_a_terminal_gets_a_summary(invoke: Invoke) -> None:
    result = invoke(["run", sample("Failing")])
    assert "started" not in result.stdout  # no line per step change
    assert "✗ explode attempt 1/1 raised ValueError: kaboom" in result.stdout
    assert "steps:\n  prepare      1 run  " in result.stdout
    assert "  explode      1 run  " in result.stdout and ", failed" in result.stdout


def test_quiet_shows_no_progress(invoke: Invoke) -> None:
    result = invoke(["run", sample("Streaming"), "--quiet"])
    assert result.exit_code == 0
    assert result.stdout.startswith("✓ completed in")
    assert "Progress" not in result.stdout


def test_verbose_shows_each_step_starting_and_finishing(invoke: Invoke) -> None:
    result = invoke(["run", sample("Failing"), "--verbose"])
    assert "▶ prepare started ← StartEvent" in result.stdout
    assert "✓ prepare done in" in result.stdout
    assert "→ Middle" in result.stdout
    assert "✗ explode failed: ValueError: kaboom" in result.stdout


def test_runs_a_workflow_instance(invoke: Invoke) -> None:
    result = invoke(["run", sample("hello"), "--arg", "name=Ada"])
    assert result.exit_code == 0, result.output
    assert "hello Ada" in result.stdout


def test_arg_values_take_the_start_event_field_types(invoke: Invoke) -> None:
    result = invoke(["run", sample("Hello"), "--arg", "name=123", "--arg", "times=2"])
    assert result.exit_code == 0, result.output
    assert "hello 123 hello 123" in result.stdout


def test_json_and_arg_are_merged_with_arg_winning(invoke: Invoke) -> None:
    result = invoke(
        [
            "run",
            sample("Echo"),
            "--json",
            '{"a": [1, 2], "b": "from json"}',
            "--arg",
            "b=from arg",
            "--arg",
            "n=3",
            "--output",
            "json",
        ]
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["result"] == {"a": [1, 2], "b": "from arg", "n": 3}


def test_output_json_is_one_document_with_the_run_id(invoke: Invoke) -> None:
    result = invoke(["run", sample("Hello"), "--output", "json", "--run-id", "cli-json-1"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["run_id"] == "cli-json-1"
    assert document["status"] == "completed"
    assert document["result"] == "hello world"
    assert document["workflow"].endswith("Hello")


def test_output_json_names_a_stop_event_subclass(invoke: Invoke) -> None:
    result = invoke(["run", sample("TypedResult"), "--output", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["result_type"] == "CustomStop"
    assert document["result"]["total"] == 3


def test_streamed_events_are_shown(invoke: Invoke) -> None:
    result = invoke(["run", sample("Streaming")])
    assert result.exit_code == 0, result.output
    assert "● Progress done=1" in result.stdout
    assert "● Progress done=2" in result.stdout


def test_a_failed_run_exits_1_with_one_error_line(invoke: Invoke) -> None:
    result = invoke(["run", sample("Failing"), "--run-id", "cli-fail-1"])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines() == [
        "Error: run cli-fail-1 failed in step 'explode': ValueError: kaboom"
    ]
    assert "Traceback" not in result.output


def test_debug_adds_the_traceback(invoke: Invoke) -> None:
    result = invoke(["run", sample("Failing"), "--debug"])
    assert result.exit_code == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert 'raise ValueError("kaboom")' in result.stderr


def test_a_failed_run_in_json_mode_reports_the_error(invoke: Invoke) -> None:
    result = invoke(["run", sample("Failing"), "--output", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["status"] == "failed"
    assert document["error"] == {"type": "ValueError", "message": "kaboom", "step": "explode"}


def test_timeout_on_a_class_becomes_the_workflow_timeout(invoke: Invoke) -> None:
    result = invoke(["run", sample("Slow"), "--timeout", "0.2"])
    assert result.exit_code == 1
    assert "WorkflowTimeoutError" in result.stderr
    assert "0.2 seconds" in result.stderr


def test_timeout_on_an_instance_times_the_run_out_too(invoke: Invoke) -> None:
    result = invoke(["run", sample("slow"), "--timeout", "0.2", "--output", "json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["status"] == "timed_out"
    assert document["error"]["type"] == "WorkflowTimeoutError"


def test_an_invalid_workflow_exits_2_with_the_validation_message(invoke: Invoke) -> None:
    result = invoke(["run", sample("Invalid")])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: invalid workflow: ")
    assert "Orphan" in result.stderr


def test_start_arguments_that_do_not_fit_exit_2(invoke: Invoke) -> None:
    result = invoke(["run", sample("Hello"), "--arg", "times=many"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: cannot start ")
    assert "Traceback" not in result.output


def test_bad_arg_syntax_exits_2(invoke: Invoke) -> None:
    result = invoke(["run", sample("Hello"), "--arg", "novalue"])
    assert result.exit_code == 2
    assert "Error: --arg 'novalue': expected KEY=VALUE" in result.stderr


def test_bad_json_exits_2(invoke: Invoke) -> None:
    result = invoke(["run", sample("Hello"), "--json", "{nope"])
    assert result.exit_code == 2
    assert "Error: --json is not valid JSON" in result.stderr


def test_non_positive_timeout_is_bad_usage(invoke: Invoke) -> None:
    result = invoke(["run", sample("Hello"), "--timeout", "0"])
    assert result.exit_code == 2
    assert "--timeout" in result.stderr


def test_a_target_that_is_not_a_workflow_exits_2(invoke: Invoke) -> None:
    result = invoke(["run", sample("not_a_workflow")])
    assert result.exit_code == 2
    assert "is a int, not a Workflow subclass or instance" in result.stderr
