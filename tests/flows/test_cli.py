"""``reflow flow ...`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from tests.flows.conftest import edge, node

from reflow.cli import main


def _write(tmp_path: Path, doc: dict[str, object], name: str = "f.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(doc))
    return str(path)


DOC = {
    "nodes": [
        node("1", "counter", {"min_value": 1, "max_value": 2}),
        node("2", "python-function", {"function": "tests.flows._recorder:loads"}),
    ],
    "edges": [edge("1", "2")],
}


def test_validate_ok_and_every_problem(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(main, ["flow", "validate", _write(tmp_path, DOC)])
    assert ok.exit_code == 0 and "OK: 2 nodes; loops (producers): 1" in ok.output
    bad = {"nodes": [node("1", "counter", {"step": 0}), node("2", "nope")], "edges": []}
    result = runner.invoke(main, ["flow", "validate", _write(tmp_path, bad, "bad.json")])
    assert result.exit_code == 2
    assert "node '1', field 'data.form.step'" in result.output
    assert "node '2', field 'type'" in result.output
    malformed = tmp_path / "m.yaml"
    malformed.write_text("nodes: [\n")
    result = runner.invoke(main, ["flow", "validate", str(malformed)])
    assert result.exit_code == 2 and "Invalid YAML at line 2" in result.output


def test_schema_types_and_draw(tmp_path: Path) -> None:
    runner = CliRunner()
    listing = runner.invoke(main, ["flow", "types"]).output
    assert any(line.split()[:2] == ["counter", "producer"] for line in listing.splitlines())
    described = json.loads(runner.invoke(main, ["flow", "types", "--json"]).output)
    http = next(d for d in described if d["type"] == "http-request")
    assert "url" in http["config_schema"]["properties"]
    schema = json.loads(runner.invoke(main, ["flow", "schema"]).output)
    assert schema["title"] == "reflow flow"
    drawn = runner.invoke(main, ["flow", "draw", _write(tmp_path, DOC)])
    assert drawn.exit_code == 0 and "flowchart TD" in drawn.output and "node_2" in drawn.output
    missing = runner.invoke(main, ["flow", "draw", _write(tmp_path, DOC), "--loop", "2"])
    assert missing.exit_code == 1 and "not a producer" in missing.output


def test_run_dev_and_dlq(tmp_path: Path, prefix: str) -> None:
    runner = CliRunner()
    path = _write(tmp_path, DOC)
    redis = ["--prefix", prefix]
    result = runner.invoke(main, ["flow", "run", path, *redis])
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["1"]["iterations"] == 2 and stats["1"]["dead_lettered"] == 2
    listed = runner.invoke(main, ["flow", "dlq", "list", path, *redis])
    assert "2 entries" in listed.output and "TypeError" in listed.output
    entry_id = listed.output.split()[0]
    shown = json.loads(runner.invoke(main, ["flow", "dlq", "show", path, entry_id, *redis]).output)
    assert shown["node_id"] == "2"
    replay = runner.invoke(main, ["flow", "dlq", "replay", path, entry_id, *redis])
    assert replay.exit_code == 1 and "replay failed; the entry stays" in replay.output
    purged = runner.invoke(main, ["flow", "dlq", "purge", path, *redis])
    assert "purged 2" in purged.output

    missing = runner.invoke(main, ["flow", "dev", path, "2", *redis])
    assert missing.exit_code == 1 and "Run '1' first" in missing.output
    first = runner.invoke(main, ["flow", "dev", path, "1", *redis])
    assert json.loads(first.output)["output"]["data"]["counter"]["current"] == 1
    given = runner.invoke(main, ["flow", "dev", path, "1", "--input", "[1]", *redis])
    assert given.exit_code == 1 and "must be a JSON object" in given.output
    reset = runner.invoke(main, ["flow", "dev-reset", path, *redis])
    assert "cleared 1" in reset.output


def test_an_unreachable_redis_is_one_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["flow", "dlq", "list", _write(tmp_path, DOC), "--redis", "redis://127.0.0.1:1/0"]
    )
    assert result.exit_code == 1
    assert "Error: Redis at redis://127.0.0.1:1/0 failed:" in result.output
    assert "Traceback" not in result.output
