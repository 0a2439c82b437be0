"""Tests for reflow.representation: the static graph of a workflow, matched to the peer's.

The expected ids, orders and edges below were recorded from llama-index-workflows 2.26.1 on
equivalent workflows.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from reflow import Context, Workflow, catch_error, step
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)
from reflow.representation import (
    WorkflowEventNode,
    WorkflowExternalNode,
    WorkflowGenericNode,
    WorkflowGraph,
    WorkflowGraphEdge,
    WorkflowResourceConfigNode,
    WorkflowResourceNode,
    WorkflowStepNode,
    get_workflow_representation,
)
from reflow.resource import Resource, ResourceConfig


class AEvent(Event):
    """An A event."""

    x: int = 1


class BEvent(Event):
    y: str = Field(default="b", description="the y")


class CEvent(AEvent):
    z: float = 0.0


class LinearFlow(Workflow):
    """Linear workflow doc."""

    @step
    async def first(self, ev: StartEvent) -> AEvent:
        """First step doc."""
        return AEvent()

    @step
    async def second(self, ev: AEvent) -> BEvent:
        return BEvent()

    @step
    async def third(self, ev: BEvent) -> StopEvent:
        return StopEvent()


class BranchFlow(Workflow):
    @step
    async def start(self, ev: StartEvent) -> AEvent | BEvent:
        return AEvent()

    @step
    async def on_a(self, ev: AEvent) -> CEvent:
        return CEvent()

    @step
    async def on_b(self, ev: BEvent) -> StopEvent:
        return StopEvent()

    @step
    async def join(self, ev: CEvent | BEvent, ctx: Context) -> StopEvent | None:
        return None


class Ask(InputRequiredEvent):
    question: str = "?"


class Answer(HumanResponseEvent):
    answer: str = ""


class HumanFlow(Workflow):
    @step
    async def s1(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent()

    @step
    async def s2(self, ev: HumanResponseEvent) -> Ask:
        return Ask()

    @step
    async def s3(self, ev: Answer) -> StopEvent:
        return StopEvent()


class ResponseOnlyFlow(Workflow):
    @step
    async def a_human(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent()

    @step
    async def b_start(self, ev: StartEvent) -> StopEvent:
        return StopEvent()


class Memory:
    pass


def get_memory() -> Memory:
    """Factory doc."""
    return Memory()


class Llm:
    pass


async def get_llm(memory: Annotated[Memory, Resource(get_memory)]) -> Llm:
    return Llm()


class Tool:
    pass


def get_tool(
    llm: Annotated[Llm, Resource(get_llm)], mem2: Annotated[Memory, Resource(get_memory)]
) -> Tool:
    return Tool()


class ResourceFlow(Workflow):
    @step
    async def s1(self, ev: StartEvent, tool: Annotated[Tool, Resource(get_tool)]) -> AEvent:
        return AEvent()

    @step
    async def s2(
        self,
        ev: AEvent,
        llm: Annotated[Llm, Resource(get_llm)],
        m: Annotated[Memory, Resource(get_memory, cache=False)],
    ) -> StopEvent:
        return StopEvent()


class Settings(BaseModel):
    """Settings model doc."""

    name: str
    n: int = 3


class CatchFlow(Workflow):
    @step
    async def s1(self, ev: StartEvent) -> StopEvent:
        return StopEvent()

    @catch_error
    async def handler(self, ev: StepFailedEvent) -> StopEvent:
        """Handles errors."""
        return StopEvent()

    @catch_error(for_steps=["s1"], max_recoveries=2)
    async def scoped(self, ev: StepFailedEvent) -> AEvent:
        return AEvent()

    @step
    async def s2(self, ev: AEvent) -> StopEvent:
        return StopEvent()


class MyStart(StartEvent):
    topic: str


class SubStart(MyStart):
    pass


class MyStop(StopEvent):
    answer: str = ""


class CustomFlow(Workflow):
    @step
    async def go(self, ev: SubStart) -> MyStop:
        return MyStop()


class Opaque:
    pass


class OpaqueEvent(Event):
    thing: Opaque | None = None


class OpaqueFlow(Workflow):
    @step
    async def go(self, ev: StartEvent) -> OpaqueEvent:
        return OpaqueEvent()

    @step
    async def end(self, ev: OpaqueEvent) -> StopEvent:
        return StopEvent()


class OrderFlow(Workflow):
    @step
    async def zeta(self, ev: StartEvent) -> AEvent:
        return AEvent()

    @step
    async def B_upper(self, ev: AEvent) -> StopEvent:
        return StopEvent()


@step(workflow=OrderFlow)
async def z_free(ev: AEvent) -> StopEvent:
    """Free doc."""
    return StopEvent()


@step(workflow=OrderFlow)
async def a_free(ev: AEvent) -> StopEvent:
    return StopEvent()


def _ids(graph: WorkflowGraph) -> list[str]:
    return [node.id for node in graph.nodes]


def _edges(graph: WorkflowGraph) -> list[tuple[str, str, str | None]]:
    return [(edge.source, edge.target, edge.label) for edge in graph.edges]


def _resource_id(factory: Any) -> str:
    key = f"{factory.__qualname__}:{inspect.getsourcefile(factory)}"
    return "resource_" + hashlib.sha256(key.encode()).hexdigest()[:12]


def test_linear_workflow_nodes_edges_and_docstrings() -> None:
    graph = get_workflow_representation(LinearFlow)
    assert graph.name == "LinearFlow"
    assert graph.description == "Linear workflow doc."
    assert _ids(graph) == [
        "first", "StartEvent", "AEvent", "second", "BEvent", "third", "StopEvent",
    ]  # fmt: skip
    assert _edges(graph) == [
        ("first", "AEvent", None),
        ("StartEvent", "first", None),
        ("second", "BEvent", None),
        ("AEvent", "second", None),
        ("third", "StopEvent", None),
        ("BEvent", "third", None),
    ]
    first = graph.nodes[0]
    assert isinstance(first, WorkflowStepNode)
    assert first.description == "First step doc."
    assert isinstance(graph.nodes[3], WorkflowStepNode)
    assert graph.nodes[3].description is None


def test_event_node_fields() -> None:
    graph = get_workflow_representation(LinearFlow)
    node = next(n for n in graph.nodes if n.id == "AEvent")
    assert isinstance(node, WorkflowEventNode)
    assert node.node_type == "event"
    assert node.event_type == "AEvent"
    assert node.event_types == ["AEvent"]
    assert node.event_schema == AEvent.model_json_schema()
    assert node.produced_by == ["first"]
    start = next(n for n in graph.nodes if n.id == "StartEvent")
    assert isinstance(start, WorkflowEventNode)
    assert start.produced_by == []


def test_union_inputs_and_optional_returns() -> None:
    graph = get_workflow_representation(BranchFlow)
    assert _ids(graph) == [
        "join", "CEvent", "BEvent", "StopEvent", "on_a", "AEvent", "on_b", "start", "StartEvent",
    ]  # fmt: skip
    assert _edges(graph) == [
        ("join", "StopEvent", None),
        ("CEvent", "join", None),
        ("BEvent", "join", None),
        ("on_a", "CEvent", None),
        ("AEvent", "on_a", None),
        ("on_b", "StopEvent", None),
        ("BEvent", "on_b", None),
        ("start", "AEvent", None),
        ("start", "BEvent", None),
        ("StartEvent", "start", None),
    ]
    nodes = {node.id: node for node in graph.nodes}
    assert isinstance(nodes["CEvent"], WorkflowEventNode)
    assert nodes["CEvent"].event_types == ["CEvent", "AEvent"]
    assert isinstance(nodes["StopEvent"], WorkflowEventNode)
    assert nodes["StopEvent"].produced_by == ["join", "on_b"]


def test_input_requests_add_the_external_node() -> None:
    graph = get_workflow_representation(HumanFlow)
    assert _ids(graph) == [
        "s1", "StartEvent", "InputRequiredEvent", "external_step", "s2", "HumanResponseEvent",
        "Ask", "s3", "Answer", "StopEvent",
    ]  # fmt: skip
    assert _edges(graph) == [
        ("s1", "InputRequiredEvent", None),
        ("InputRequiredEvent", "external_step", None),
        ("StartEvent", "s1", None),
        ("s2", "Ask", None),
        ("Ask", "external_step", None),
        ("HumanResponseEvent", "s2", None),
        ("external_step", "HumanResponseEvent", None),
        ("s3", "StopEvent", None),
        ("Answer", "s3", None),
        ("external_step", "Answer", None),
    ]
    external = graph.nodes[3]
    assert isinstance(external, WorkflowExternalNode)
    assert (external.label, external.node_type) == ("external_step", "external")
    ask = next(n for n in graph.nodes if n.id == "Ask")
    assert isinstance(ask, WorkflowEventNode)
    assert ask.event_types == ["Ask", "InputRequiredEvent"]


def test_human_responses_without_input_requests_have_no_external_node() -> None:
    graph = get_workflow_representation(ResponseOnlyFlow)
    assert "external_step" not in _ids(graph)
    assert _edges(graph) == [
        ("a_human", "StopEvent", None),
        ("HumanResponseEvent", "a_human", None),
        ("b_start", "StopEvent", None),
        ("StartEvent", "b_start", None),
    ]


def test_resources_nodes_ids_and_dependency_edges() -> None:
    graph = get_workflow_representation(ResourceFlow)
    tool, llm, memory = _resource_id(get_tool), _resource_id(get_llm), _resource_id(get_memory)
    assert _ids(graph) == ["s1", "StartEvent", "AEvent", tool, llm, memory, "s2", "StopEvent"]
    assert _edges(graph) == [
        (llm, memory, "memory"),
        (tool, llm, "llm"),
        (tool, memory, "mem2"),
        ("s1", "AEvent", None),
        ("StartEvent", "s1", None),
        ("s1", tool, "tool"),
        ("s2", "StopEvent", None),
        ("AEvent", "s2", None),
        ("s2", llm, "llm"),
        ("s2", memory, "m"),
    ]
    node = next(n for n in graph.nodes if n.id == memory)
    assert isinstance(node, WorkflowResourceNode)
    assert node.label == node.type_name == "Memory"
    assert node.getter_name == "get_memory"
    assert node.source_file == inspect.getsourcefile(get_memory)
    assert node.source_line == inspect.getsourcelines(get_memory)[1]
    assert node.description == "Factory doc."


_config_parameter: Any = None


def _config_flow(config_file: str, **options: Any) -> type[Workflow]:
    """A workflow whose step takes ``Annotated[Settings, ResourceConfig(config_file, ...)]``.

    The annotation is read from a module global when ``@step`` resolves the (postponed)
    annotations, so each call can point at its own file.
    """
    global _config_parameter
    _config_parameter = Annotated[Settings, ResourceConfig(config_file=config_file, **options)]

    class ConfigFlow(Workflow):
        @step
        async def s1(self, ev: StartEvent, cfg: _config_parameter) -> StopEvent:
            return StopEvent()

    return ConfigFlow


def test_resource_config_node(tmp_path: Path) -> None:
    config_file = tmp_path / "settings.json"
    config_file.write_text(json.dumps({"a": {"b": {"name": "hello", "n": 5}}}))
    flow = _config_flow(str(config_file), path_selector="a.b", label="My cfg", description="d")
    graph = get_workflow_representation(flow)
    node = graph.nodes[-1]
    key = f"{config_file}:a.b"
    assert node.id == "resource_config_" + hashlib.sha256(key.encode()).hexdigest()[:12]
    assert isinstance(node, WorkflowResourceConfigNode)
    assert node.label == "My cfg"
    assert node.type_name == "Settings"
    assert node.config_file == str(config_file)
    assert node.path_selector == "a.b"
    assert node.config_value == {"name": "hello", "n": 5}
    assert node.config_schema == Settings.model_json_schema()
    assert node.description == "d"
    assert _edges(graph)[-1] == ("s1", node.id, "cfg")


def test_resource_config_defaults_and_missing_file(tmp_path: Path) -> None:
    config_file = tmp_path / "whole.json"
    config_file.write_text(json.dumps({"name": "x"}))
    node = get_workflow_representation(_config_flow(str(config_file))).nodes[-1]
    assert isinstance(node, WorkflowResourceConfigNode)
    assert node.label == "Settings"
    assert (
        node.id == "resource_config_" + hashlib.sha256(f"{config_file}:".encode()).hexdigest()[:12]
    )
    assert node.config_value == {"name": "x"}

    # The peer raises FileNotFoundError here; reflow still draws the graph.
    missing = tmp_path / "missing.json"
    node = get_workflow_representation(_config_flow(str(missing))).nodes[-1]
    assert isinstance(node, WorkflowResourceConfigNode)
    assert node.config_file == str(missing)
    assert node.config_value is None


def test_catch_error_handlers_are_step_nodes() -> None:
    graph = get_workflow_representation(CatchFlow)
    assert _ids(graph) == [
        "handler", "StepFailedEvent", "StopEvent", "s1", "StartEvent", "s2", "AEvent", "scoped",
    ]  # fmt: skip
    assert ("StepFailedEvent", "scoped", None) in _edges(graph)
    handler = graph.nodes[0]
    assert isinstance(handler, WorkflowStepNode)
    assert handler.description == "Handles errors."


def test_custom_start_and_stop_events_keep_their_ancestry() -> None:
    graph = get_workflow_representation(CustomFlow)
    assert _ids(graph) == ["go", "SubStart", "MyStop"]
    start, stop = graph.nodes[1], graph.nodes[2]
    assert isinstance(start, WorkflowEventNode)
    assert isinstance(stop, WorkflowEventNode)
    assert start.event_types == ["SubStart", "MyStart", "StartEvent"]
    assert start.is_subclass_of("StartEvent")
    assert stop.event_types == ["MyStop", "StopEvent"]
    assert not stop.is_subclass_of("StartEvent", "Event")


def test_unschematisable_event_gets_no_schema() -> None:
    nodes = {node.id: node for node in get_workflow_representation(OpaqueFlow).nodes}
    opaque, stop = nodes["OpaqueEvent"], nodes["StopEvent"]
    assert isinstance(opaque, WorkflowEventNode)
    assert opaque.event_schema is None
    assert isinstance(stop, WorkflowEventNode)
    assert stop.event_schema is not None


def test_method_steps_sorted_then_free_steps_in_added_order() -> None:
    graph = get_workflow_representation(OrderFlow)
    assert [n.id for n in graph.nodes if n.node_type == "step"] == [
        "B_upper", "zeta", "z_free", "a_free",
    ]  # fmt: skip
    free = next(n for n in graph.nodes if n.id == "z_free")
    assert isinstance(free, WorkflowStepNode)
    assert free.description == "Free doc."


def test_instance_and_class_give_the_same_graph() -> None:
    assert get_workflow_representation(BranchFlow()) == get_workflow_representation(BranchFlow)


def test_a_class_without_docstring_inherits_the_workflow_docstring() -> None:
    assert get_workflow_representation(BranchFlow).description == inspect.getdoc(Workflow)


@pytest.mark.parametrize("value", [int, 3, None, LinearFlow.first])
def test_non_workflows_are_rejected(value: Any) -> None:
    with pytest.raises(TypeError, match="Workflow subclass or instance"):
        get_workflow_representation(value)


def test_graph_round_trips_through_json() -> None:
    graph = get_workflow_representation(HumanFlow)
    again = WorkflowGraph.model_validate_json(graph.model_dump_json())
    assert again == graph
    assert [type(node) for node in again.nodes] == [type(node) for node in graph.nodes]


def test_untyped_and_unknown_nodes_validate_like_the_peer() -> None:
    graph = WorkflowGraph.model_validate(
        {"name": "x", "nodes": [{"id": "a", "label": "a"}, {"id": "b", "label": "b",
         "node_type": "agent"}], "edges": []}
    )  # fmt: skip
    assert isinstance(graph.nodes[0], WorkflowStepNode)
    assert isinstance(graph.nodes[1], WorkflowGenericNode)
    assert graph.nodes[1].node_type == "agent"


def test_generic_node_subclass_checks() -> None:
    plain = WorkflowGenericNode(id="g", label="g", node_type="agent", event_type="A")
    assert not plain.is_subclass_of("A")
    chained = WorkflowGenericNode(
        id="g", label="g", node_type="agent", event_type="A", event_types=["A", "B"]
    )
    assert chained.is_subclass_of("B")
    assert not chained.is_subclass_of("agent")


@given(label=st.text(min_size=1, max_size=30), limit=st.integers(min_value=1, max_value=40))
def test_truncated_label(label: str, limit: int) -> None:
    node = WorkflowStepNode(id="x", label=label)
    shortened = node.truncated_label(limit)
    if len(label) <= limit:
        assert shortened == label
    else:
        assert shortened == label[: limit - 1] + "*"
        assert len(shortened) == limit


def test_filter_by_node_type_bridges_removed_nodes() -> None:
    graph = get_workflow_representation(BranchFlow)
    steps_removed = graph.filter_by_node_type("step")
    assert _ids(steps_removed) == ["CEvent", "BEvent", "StopEvent", "AEvent", "StartEvent"]
    assert sorted(_edges(steps_removed)) == [
        ("AEvent", "CEvent", "on_a"),
        ("BEvent", "StopEvent", "join"),  # the first removed step wins over on_b
        ("CEvent", "StopEvent", "join"),
        ("StartEvent", "AEvent", "start"),
        ("StartEvent", "BEvent", "start"),
    ]
    assert (steps_removed.name, steps_removed.description) == (graph.name, graph.description)
    assert graph.filter_by_node_type() == graph
    assert graph.filter_by_node_type("step", "event").nodes == []


def test_filter_labels_bridges_with_the_first_removed_node() -> None:
    graph = get_workflow_representation(HumanFlow).filter_by_node_type("event", "external")
    assert sorted(_edges(graph)) == [
        ("s1", "s2", "InputRequiredEvent"),
        ("s1", "s3", "InputRequiredEvent"),
        ("s2", "s2", "Ask"),
        ("s2", "s3", "Ask"),
    ]


def test_filter_keeps_edges_between_kept_nodes_with_their_labels() -> None:
    graph = get_workflow_representation(ResourceFlow).filter_by_node_type("step", "event")
    llm, memory, tool = _resource_id(get_llm), _resource_id(get_memory), _resource_id(get_tool)
    assert _ids(graph) == [tool, llm, memory]
    assert _edges(graph) == [(llm, memory, "memory"), (tool, llm, "llm"), (tool, memory, "mem2")]


_node_names = st.sampled_from(list("abcdefg"))


@settings(max_examples=200)
@given(
    edges=st.lists(st.tuples(_node_names, _node_names), max_size=18),
    removed=st.sets(_node_names, max_size=5),
)
def test_filter_connects_exactly_the_pairs_joined_through_removed_nodes(
    edges: list[tuple[str, str]], removed: set[str]
) -> None:
    names = sorted({name for edge in edges for name in edge} | removed)
    graph = WorkflowGraph(
        name="g",
        nodes=[
            WorkflowStepNode(id=n, label=n)
            if n not in removed
            else WorkflowGenericNode(id=n, label=n, node_type="gone")
            for n in names
        ],
        edges=[WorkflowGraphEdge(source=s, target=t) for s, t in edges],
    )
    filtered = graph.filter_by_node_type("gone")
    kept = [n for n in names if n not in removed]

    def joined(source: str, target: str) -> bool:
        """An edge source -> target, or a path source -> removed... -> target."""
        frontier = [t for s, t in edges if s == source]
        seen: set[str] = set()
        while frontier:
            node = frontier.pop()
            if node == target:
                return True
            if node in removed and node not in seen:
                seen.add(node)
                frontier += [t for s, t in edges if s == node]
        return False

    got = {(e.source, e.target) for e in filtered.edges}
    assert got == {(s, t) for s in kept for t in kept if joined(s, t)}
    assert all(e.source in kept and e.target in kept for e in filtered.edges)
    assert [n.id for n in filtered.nodes] == kept
