"""The example flow in examples/flows runs from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from reflow.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "flows" / "orders.yaml"


def test_the_orders_example_runs(
    tmp_path: Path, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["flow", "validate", str(EXAMPLE)]).exit_code == 0
    result = runner.invoke(main, ["flow", "run", str(EXAMPLE), "--prefix", prefix])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["orders"]["iterations"] == 4 and stats["packer"]["iterations"] == 3
    assert (tmp_path / "flow_output/packed.txt").read_text().splitlines() == [
        "corner-shop: tea -> 2 label(s)",
        "corner-shop: bread -> 1 label(s)",
        "corner-shop: milk -> 3 label(s)",
    ]
    assert (tmp_path / "flow_output/dropped.txt").read_text() == "jam\n"
    drawn = runner.invoke(main, ["flow", "draw", str(EXAMPLE), "--loop", "packer"])
    assert "labels" in drawn.output and "log" in drawn.output


def test_the_guide_holds_the_current_json_schema() -> None:
    from reflow.flows import flow_json_schema

    guide = (EXAMPLE.parents[2] / "docs" / "flows.md").read_text()
    block = guide.split("<summary>flow.schema.json</summary>", 1)[1]
    text = block.split("```json", 1)[1].split("```", 1)[0]
    assert json.loads(text) == flow_json_schema()


async def test_a_flow_exported_by_the_seed_editor_runs_unchanged_and_shuts_down(
    tmp_path: Path, prefix: str, http_server: str
) -> None:
    """The orchestrator's auto-shutdown scenario: the counter ends, its queue writer sends the
    done signal, and the reader's loop ends after the last job."""
    from reflow.flows import FlowEngine, FlowServices, load_flow

    doc = json.loads((Path(__file__).parent / "data" / "seed_export.json").read_text())
    doc["env"]["base_url"] = http_server
    doc["settings"]["files_dir"] = str(tmp_path)
    services = FlowServices(prefix=prefix)
    try:
        engine = FlowEngine(load_flow(doc, name="seed"), services)
        stats = await engine.run_production()
    finally:
        await services.aclose()
    assert (stats["1"].iterations, stats["8"].iterations) == (4, 2)
    assert (tmp_path / "applied.txt").read_text().splitlines() == ["201 2", "201 4"]
    assert (tmp_path / "skipped.txt").read_text().splitlines() == ["1", "3"]
