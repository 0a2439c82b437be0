"""``WorkflowTestRunner`` and ``get_workflow_representation``."""

from __future__ import annotations

from typing import Annotated

from reflow import Context, Workflow, step
from reflow.context import Context as ContextFromPackage
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepStateChanged,
    StopEvent,
)
from reflow.representation import (
    WorkflowEventNode,
    WorkflowExternalNode,
    WorkflowGraph,
    WorkflowResourceNode,
    WorkflowStepNode,
    get_workflow_representation,
)
from reflow.resource import Resource
from reflow.testing import WorkflowTestRunner
from reflow.testing.runner import WorkflowTestResult


class Progress(Event):
    n: int


class Ask(InputRequiredEvent):
    pass


class Answer(HumanResponseEvent):
    pass


def make_client() -> dict[str, int]:
    """A client."""
    return {"c": 1}


class Sample(Workflow):
    """Doc of Sample."""

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Progress:
        """Start doc."""
        ctx.write_event_to_stream(Progress(n=1))
        return Progress(n=2)

    @step
    async def finish(
        self, ev: Progress, client: Annotated[dict[str, int], Resource(make_client)]
    ) -> StopEvent | Ask:
        return StopEvent(result="done")

    @step
    async def human(self, ev: Answer) -> StopEvent:
        return StopEvent()


async def test_runner_collects_internal_events_by_default() -> None:
    result = await WorkflowTestRunner(Sample(timeout=2)).run()
    assert isinstance(result, WorkflowTestResult)
    assert [type(e).__name__ for e in result.collected] == [
        "StepStateChanged",
        "Progress",
        "StepStateChanged",
        "StepStateChanged",
        "StepStateChanged",
        "StopEvent",
    ]
    assert result.event_types == {StepStateChanged: 4, Progress: 1, StopEvent: 1}
    assert result.result == "done"
    assert isinstance(result.ctx, ContextFromPackage)


async def test_runner_can_hide_internal_and_excluded_events() -> None:
    result = await WorkflowTestRunner(Sample(timeout=2)).run(
        start_event=StartEvent(), expose_internal=False, exclude_events=[Progress]
    )
    assert [type(e).__name__ for e in result.collected] == ["StopEvent"]
    assert result.event_types == {StopEvent: 1}


async def test_runner_reuses_a_given_context() -> None:
    workflow = Sample(timeout=2)
    ctx = Context(workflow)
    await ctx.store.set("marker", 1)
    result = await WorkflowTestRunner(workflow).run(ctx=ctx)
    assert result.ctx is ctx
    assert await result.ctx.store.get("marker") == 1


def _graph() -> WorkflowGraph:
    return get_workflow_representation(Sample)


def test_graph_name_and_description() -> None:
    graph = _graph()
    assert isinstance(graph, WorkflowGraph)
    assert graph.name == "Sample"
    assert graph.description == "Doc of Sample."


def test_graph_step_nodes_carry_docstrings() -> None:
    steps = {n.id: n for n in _graph().nodes if isinstance(n, WorkflowStepNode)}
    assert set(steps) == {"start", "finish", "human"}
    assert steps["start"].description == "Start doc."
    assert steps["finish"].description is None
    assert {n.node_type for n in steps.values()} == {"step"}
    assert steps["start"].label == "start"


def test_graph_event_nodes_list_their_event_class_chain() -> None:
    events = {n.id: n for n in _graph().nodes if isinstance(n, WorkflowEventNode)}
    assert set(events) == {"StartEvent", "Progress", "StopEvent", "Ask", "Answer"}
    assert events["Progress"].event_type == "Progress"
    assert events["Progress"].event_types == ["Progress"]
    assert events["Ask"].event_types == ["Ask", "InputRequiredEvent"]
    assert events["Answer"].event_types == ["Answer", "HumanResponseEvent"]
    assert events["Progress"].event_schema["properties"] == {"n": {"title": "N", "type": "integer"}}
    assert events["Ask"].is_subclass_of("InputRequiredEvent") is True
    assert events["Ask"].is_subclass_of("StopEvent") is False


def test_graph_adds_an_external_node_for_human_input() -> None:
    nodes = _graph().nodes
    external = [n for n in nodes if isinstance(n, WorkflowExternalNode)]
    assert len(external) == 1
    assert external[0].id == "external_step"
    assert external[0].node_type == "external"


def test_graph_resource_nodes_describe_the_factory() -> None:
    resources = [n for n in _graph().nodes if isinstance(n, WorkflowResourceNode)]
    assert len(resources) == 1
    node = resources[0]
    assert node.id.startswith("resource_")
    assert node.label == "dict"
    assert node.getter_name == "make_client"
    assert node.description == "A client."
    assert node.source_file == __file__


def test_graph_edges_follow_events_through_steps() -> None:
    graph = _graph()
    resource_id = next(n.id for n in graph.nodes if isinstance(n, WorkflowResourceNode))
    edges = {(e.source, e.target, e.label) for e in graph.edges}
    assert edges == {
        ("StartEvent", "start", None),
        ("start", "Progress", None),
        ("Progress", "finish", None),
        ("finish", "StopEvent", None),
        ("finish", "Ask", None),
        ("Ask", "external_step", None),
        ("external_step", "Answer", None),
        ("Answer", "human", None),
        ("human", "StopEvent", None),
        ("finish", resource_id, "client"),
    }


def test_representation_of_an_instance_matches_the_class() -> None:
    from_class = get_workflow_representation(Sample)
    from_instance = get_workflow_representation(Sample(timeout=1))
    assert {n.id for n in from_class.nodes} == {n.id for n in from_instance.nodes}
    assert {(e.source, e.target) for e in from_class.edges} == {
        (e.source, e.target) for e in from_instance.edges
    }


def test_filter_by_node_type_removes_those_nodes_and_bridges_edges() -> None:
    filtered = _graph().filter_by_node_type("step")
    ids = {n.id for n in filtered.nodes}
    assert "start" not in ids and "finish" not in ids
    edges = {(e.source, e.target) for e in filtered.edges}
    assert ("StartEvent", "Progress") in edges
    assert ("Progress", "StopEvent") in edges
    assert ("Ask", "external_step") in edges


def test_truncated_label_marks_the_cut() -> None:
    node = next(n for n in _graph().nodes if n.id == "start")
    assert node.truncated_label(3) == "st*"
    assert node.truncated_label(10) == "start"
