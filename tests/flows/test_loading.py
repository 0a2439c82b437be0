"""Loading flow documents: JSON and YAML, the schema, and every validation error at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.flows.conftest import edge, node

from reflow.flows import (
    FlowFormatError,
    FlowValidationError,
    flow_json_schema,
    load_flow,
    normalize_branch,
    validate_flow,
)

COUNTER = node("1", "counter", {"min_value": 0, "max_value": 2})


def test_json_and_yaml_files_load_the_same_graph(tmp_path: Path) -> None:
    doc = {
        "nodes": [COUNTER, node("2", "data-transformer", {"output_template": "{}"})],
        "edges": [edge("1", "2")],
        "env": {"who": "me"},
    }
    (tmp_path / "f.json").write_text(json.dumps(doc))
    yaml_text = """
nodes:
  - id: "1"
    type: counter
    data: {form: {min_value: 0, max_value: 2}}
  - id: "2"
    type: data-transformer
    position: {x: 10, y: 20}
    data:
      form: {output_template: "{}"}
edges:
  - {source: "1", target: "2", sourceHandle: null, id: e1}
env: {who: me}
"""
    (tmp_path / "f.yaml").write_text(yaml_text)
    a, b = load_flow(tmp_path / "f.json"), load_flow(tmp_path / "f.yaml")
    assert a.graph.successors == b.graph.successors == {"1": {"default": ["2"]}, "2": {}}
    assert a.spec.env == b.spec.env == {"who": "me"}
    assert a.name == "f"
    named = {**doc, "settings": {"name": "billing"}}
    (tmp_path / "g.json").write_text(json.dumps(named))
    assert load_flow(tmp_path / "g.json").name == "billing"
    assert load_flow(tmp_path / "g.json", name="override").name == "override"


def test_numeric_ids_and_handles_are_normalised() -> None:
    flow = load_flow(
        {
            "nodes": [
                {"id": 1, "type": "counter", "data": {}},
                {"id": 2, "type": "if-condition", "data": {"form": {"condition_expression": "1"}}},
                {"id": 3, "type": "data-transformer", "data": {"form": {"output_template": "{}"}}},
            ],
            "edges": [
                {"source": 1, "target": 2},
                {"source": 2, "target": 3, "sourceHandle": "Yes"},
            ],
        }
    )
    assert flow.graph.next("2", "yes") == ["3"]
    assert [normalize_branch(h) for h in (None, "", "Yes", "No", "Body", "subdag")] == [
        "default",
        "default",
        "yes",
        "no",
        "subdag",
        "subdag",
    ]


@pytest.mark.parametrize(
    ("text", "fmt", "where"),
    [
        ('{"nodes": [', "json", "line 1, column 12"),
        ("nodes:\n  - id: 1\n   type: x\n", "yaml", "line 3"),
        ("nodes: [a, b\n", "yaml", "line 2"),
    ],
)
def test_malformed_text_names_line_and_column(text: str, fmt: str, where: str) -> None:
    with pytest.raises(FlowFormatError, match=where):
        load_flow(text, fmt=fmt)  # type: ignore[arg-type]


def test_nesting_and_alias_bombs_are_format_errors() -> None:
    with pytest.raises(FlowFormatError, match="nested too deeply"):
        load_flow("[" * 100_000 + "]" * 100_000, fmt="json")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(12)
    )
    with pytest.raises(FlowFormatError, match="aliases"):
        load_flow(bomb, fmt="yaml")


def test_unreadable_file_is_a_format_error(tmp_path: Path) -> None:
    with pytest.raises(FlowFormatError, match="Cannot read flow file"):
        load_flow(tmp_path / "missing.json")


@pytest.mark.parametrize("doc", [[], 42, {"edges": []}, {"nodes": {}}])
def test_not_a_flow_document(doc: object) -> None:
    with pytest.raises(FlowValidationError) as info:
        load_flow(doc)
    assert len(info.value.problems) == 1


def test_every_problem_is_reported_at_once_with_node_and_field() -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": "lots", "step": 0}),
            node("2", "no-such-type"),
            node("2", "data-transformer", {"output_template": "{}"}),
            node("3", "http-request", {"url": "", "timeout_seconds": "soon"}),
            node("4", "if-condition", {"condition_expression": "__import__('os')"}),
            node("5", "data-transformer", {"output_template": "{{ data.x "}),
            node("6", "shell", {"command": "", "timeout_seconds": 0}),
            {"type": "counter"},
            node("7", "counter", {"min_value": 5, "max_value": 1}),
        ],
        "edges": [
            edge("1", "ghost"),
            edge("1", "3", "sideways"),
            edge("3", "4", "Yes"),
            edge("4", "1", "Yes"),
        ],
        "settings": {"fork_execution_pool": "gpu"},
    }
    problems = validate_flow(doc)
    found = {(p.node_id, p.field) for p in problems}
    assert ("1", "data.form.min_value") in found
    assert ("1", "data.form.step") in found
    assert ("2", "type") in found  # unknown type, with the available ones
    assert ("2", "id") in found  # duplicate
    assert ("3", "data.form.url") in found
    assert ("3", "data.form.timeout_seconds") in found
    assert ("4", "data.form.condition_expression") in found
    assert ("5", "data.form.output_template") in found
    assert ("6", "data.form.command") in found
    assert ("6", "data.form.timeout_seconds") in found
    assert ("nodes[7]", "id") in found
    assert ("7", "data.form") in found  # the model-level rule min <= max
    assert ("1", "edges[0].target") in found
    assert ("1", "edges[1].sourceHandle") in found
    assert ("3", "edges[2].sourceHandle") in found  # a blocking node has no yes branch
    assert (None, "settings.fork_execution_pool") in found
    messages = {(p.node_id, p.field): p.message for p in problems}
    assert "Available types" in messages[("2", "type")] and "counter" in messages[("2", "type")]
    assert "must not be empty" in messages[("6", "data.form.command")]
    assert "not allowed" in messages[("4", "data.form.condition_expression")]
    text = str(FlowValidationError(problems))
    assert "node '3', field 'data.form.url'" in text


def test_cycle_without_loop_node_is_rejected_but_a_for_each_body_may_return() -> None:
    t = {"output_template": "{}"}
    cyclic = {
        "nodes": [COUNTER, node("a", "data-transformer", t), node("b", "data-transformer", t)],
        "edges": [edge("1", "a"), edge("a", "b"), edge("b", "a")],
    }
    problems = validate_flow(cyclic)
    assert [p.field for p in problems] == ["edges"]
    assert "cycle a -> b -> a" in problems[0].message
    owned = {
        "nodes": [
            COUNTER,
            node("f", "for-each", {"array_expression": "[1, 2]"}),
            node("b", "data-transformer", t),
        ],
        "edges": [edge("1", "f"), edge("f", "b", "subdag"), edge("b", "f")],
    }
    assert validate_flow(owned) == []


def test_graph_problems_are_reported_together_with_form_problems() -> None:
    doc = {
        "nodes": [
            COUNTER,
            node("a", "data-transformer", {"output_template": ""}),
            node("b", "data-transformer", {"output_template": "{}"}),
        ],
        "edges": [edge("1", "a"), edge("a", "b"), edge("b", "a")],
    }
    assert {(p.node_id, p.field) for p in validate_flow(doc)} == {
        ("a", "data.form.output_template"),
        ("a", "edges"),
    }


def test_templated_fields_are_checked_after_rendering_only() -> None:
    doc = {
        "nodes": [COUNTER, node("2", "http-request", {"url": "{{ data.url }}"})],
        "edges": [edge("1", "2")],
    }
    assert validate_flow(doc) == []


def test_queue_names_come_from_the_writer_and_reader_ids() -> None:
    doc = {
        "nodes": [
            COUNTER,
            node("w", "queue-node-writer"),
            node("r", "queue-reader-dummy"),
            node("lonely", "queue-reader-dummy"),
        ],
        "edges": [edge("1", "w"), edge("w", "r")],
    }
    problems = validate_flow(doc)
    assert [(p.node_id, p.field) for p in problems] == [("lonely", "data.config.queue_name")]
    doc["nodes"] = doc["nodes"][:3]
    flow = load_flow(doc)
    assert flow.graph.nodes["w"].data.config["queue_name"] == "queue_w_r"
    assert flow.graph.nodes["r"].data.config["queue_name"] == "queue_w_r"


def test_a_producer_cannot_follow_a_blocking_node() -> None:
    doc = {"nodes": [COUNTER, node("2", "counter")], "edges": [edge("1", "2")]}
    assert [p.field for p in validate_flow(doc)] == ["edges[0].target"]


def test_json_schema_describes_the_document() -> None:
    schema = flow_json_schema()
    assert schema["required"] == ["nodes"]
    node_schema = schema["$defs"]["NodeSpec"]
    assert "counter" in node_schema["properties"]["type"]["enum"]
    assert "sourceHandle" in schema["$defs"]["EdgeSpec"]["properties"]
    json.dumps(schema)


def test_registry_describes_types_for_an_editor_and_refuses_bad_classes() -> None:
    from pydantic import BaseModel

    from reflow.flows import BlockingNode, NodeRegistry, default_registry

    class Config(BaseModel):
        country: str
        city: str = ""

    class Place(BlockingNode[Config]):
        type_id = "place"
        config_model = Config
        dependent_fields = {"city": ["country"]}

    registry = default_registry().copy()
    registry.register(Place)
    described = {d["type"]: d for d in registry.describe()}
    assert described["place"]["dependent_fields"] == {"city": ["country"]}
    assert described["place"]["config_schema"]["required"] == ["country"]
    assert described["counter"]["kind"] == "producer"
    assert "place" not in default_registry().types()
    with pytest.raises(TypeError):
        NodeRegistry().register(dict)  # type: ignore[arg-type]

    class Nameless(BlockingNode[Config]):
        pass

    with pytest.raises(ValueError, match="no type_id"):
        NodeRegistry().register(Nameless)


def test_duplicate_edges_are_reported() -> None:
    doc = {
        "nodes": [COUNTER, node("2", "data-transformer", {"output_template": "{}"})],
        "edges": [edge("1", "2"), edge("1", "2")],
    }
    assert [(p.node_id, p.field) for p in validate_flow(doc)] == [("1", "edges[1]")]
