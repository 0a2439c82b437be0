"""The ``shell`` node: real processes through ``reflow.runners.run_shell``; a failing command
fails the node and its iteration lands in the dead-letter queue."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.flows.conftest import edge, node
from tests.flows.test_running import after_one_tick, dead_letter, run

from reflow.flows import FlowServices, FlowValidationError, load_flow


def counted(form: dict[str, Any], top: int = 2) -> dict[str, Any]:
    return {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": top}),
            node("x", "shell", form),
        ],
        "edges": [edge("1", "x")],
    }


async def test_a_templated_shell_string_runs_per_iteration_and_its_outputs_are_kept() -> None:
    doc = counted({"command": 'echo "n={{ data.counter.current }}"; echo \'{"twice": 2}\' >&2'})
    _, stats = await run(doc)
    results = [o["x"]["shell"] for o in stats["1"].outputs]
    assert [r["stdout"] for r in results] == ["n=1\n", "n=2\n"]
    first = results[0]
    assert (first["exit_code"], first["ok"], first["status"]) == (0, True, "success")
    assert first["stderr"] == '{"twice": 2}\n' and first["duration_ms"] > 0
    assert "error" not in first


async def test_structured_outputs_are_merged_into_the_result() -> None:
    doc = counted({"command": 'echo \'::reflow-output::{"size": 3, "ok": false}\''}, top=1)
    _, stats = await run(doc)
    result = stats["1"].outputs[0]["x"]["shell"]
    assert result["size"] == 3 and result["ok"] is True  # an output cannot overwrite `ok`


async def test_an_argv_list_renders_each_item_and_never_reaches_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    doc = {
        "nodes": [
            node("1", "string-iterator-producer", {"data_content": f"$(touch {marker}); echo"}),
            node("x", "shell", {"command": ["printf", "%s", "{{ data.string_iterator.value }}"]}),
        ],
        "edges": [edge("1", "x")],
    }
    _, stats = await run(doc)
    assert stats["1"].outputs[0]["x"]["shell"]["stdout"] == f"$(touch {marker}); echo"
    assert not marker.exists()


async def test_cwd_env_and_stdin_reach_the_process(tmp_path: Path) -> None:
    doc = counted(
        {
            "command": 'pwd; echo "$GREETING $N"; cat',
            "cwd": str(tmp_path),
            "env": {"GREETING": "hello", "N": "{{ data.counter.current }}"},
            "stdin": "from stdin",
        },
        top=1,
    )
    _, stats = await run(doc)
    stdout = stats["1"].outputs[0]["x"]["shell"]["stdout"]
    assert stdout == f"{tmp_path}\nhello 1\nfrom stdin"


async def test_a_failing_command_fails_the_node_into_the_dead_letter_queue(
    services: FlowServices,
) -> None:
    form = {"command": "echo bad >&2; exit 3"}
    entry = await dead_letter(after_one_tick("shell", form), services)
    assert entry["node_id"] == "x" and entry["node_type"] == "shell"
    assert entry["error_type"] == "CommandFailed"
    assert "exited with code 3: bad" in entry["error_message"]
    assert entry["input"]["data"]["counter"]["current"] == 1


async def test_check_false_keeps_a_failure_as_data(services: FlowServices) -> None:
    doc = after_one_tick("shell", {"command": "exit 4", "check": False})
    engine, stats = await run(doc, services=services)
    result = stats["1"].outputs[0]["x"]["shell"]
    assert (result["ok"], result["status"], result["exit_code"]) == (False, "failed", 4)
    assert result["error"]["code"] == "STEP_EXECUTION_FAILED"
    assert await engine.dlq.count() == 0


async def test_a_timeout_ends_the_process_and_fails_the_node(services: FlowServices) -> None:
    form = {"command": ["sleep", "30"], "timeout_seconds": 0.2}
    entry = await dead_letter(after_one_tick("shell", form), services)
    assert entry["error_type"] == "CommandFailed"
    assert "timed out after 0.2s" in entry["error_message"]


async def test_a_missing_cwd_fails_the_node_naming_it(services: FlowServices) -> None:
    form = {"command": "true", "cwd": "/no/such/dir"}
    entry = await dead_letter(after_one_tick("shell", form), services)
    assert entry["error_type"] == "InvalidCommand" and "/no/such/dir" in entry["error_message"]


async def test_secrets_reach_the_command_and_are_masked_in_its_result(
    monkeypatch: pytest.MonkeyPatch, services: FlowServices
) -> None:
    monkeypatch.setenv("REFLOW_SECRET_FLOW_NODE_TOKEN", "s3cr3t-value-xyz")
    doc = after_one_tick(
        "shell",
        {
            "command": 'test "$FLOW_NODE_TOKEN" = s3cr3t-value-xyz && echo "$FLOW_NODE_TOKEN"',
            "secrets": "FLOW_NODE_TOKEN",
        },
    )
    _, stats = await run(doc, services=services)
    assert stats["1"].outputs[0]["x"]["shell"]["stdout"] == "***\n"


def test_bad_forms_are_refused_when_the_flow_loads() -> None:
    doc = counted({"command": [], "timeout_seconds": -1, "env": "[1]"})
    with pytest.raises(FlowValidationError) as info:
        load_flow(doc)
    fields = {p.field for p in info.value.problems}
    assert fields == {"data.form.command", "data.form.timeout_seconds", "data.form.env"}
