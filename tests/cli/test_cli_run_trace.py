"""``reflow run --trace``: the run's span tree, printed after the result."""

from __future__ import annotations

import json

from cli_support import Invoke, sample


def test_trace_prints_the_span_tree_after_the_result(invoke: Invoke) -> None:
    result = invoke(["run", sample("Failing"), "--memory", "--trace", "--quiet"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    roots = [i for i, line in enumerate(lines) if line.startswith("run ")]
    assert len(roots) == 1, result.stdout
    tree = lines[roots[0] :]
    assert " ms" in tree[0] and "failed" in tree[0]
    steps = [line for line in tree[1:] if "step " in line]
    assert any("prepare" in line and line.startswith(("├── ", "└── ")) for line in steps), tree
    assert any("explode" in line and "ERROR" in line for line in steps), tree


def test_trace_with_json_output_keeps_stdout_one_document(invoke: Invoke) -> None:
    result = invoke(["run", sample("Hello"), "--memory", "--trace", "--output", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"] == "hello world"
    assert result.stderr.splitlines()[0].startswith("run ")


def test_no_trace_no_tree(invoke: Invoke) -> None:
    result = invoke(["run", sample("Hello"), "--memory", "--quiet"])
    assert not any(line.startswith("run ") for line in result.stdout.splitlines())
