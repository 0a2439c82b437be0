"""Workflow graphs with opt-in subclass routing (peer 2.26.1)."""

from __future__ import annotations

from reflow import Workflow, step
from reflow.events import Event, StartEvent, StopEvent
from reflow.representation import get_workflow_representation


class Base(Event):
    pass


class Child(Base):
    pass


class Grandchild(Child):
    pass


class Other(Event):
    pass


class Routes(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Child | Other:
        return Child()

    @step(accept_event_subclasses=True)
    async def take_base(self, ev: Base) -> StopEvent:
        return StopEvent()

    @step
    async def take_other(self, ev: Other) -> Grandchild | None:
        return None


def _edges(graph: object) -> list[tuple[str, str, str | None]]:
    return [(e.source, e.target, e.label) for e in graph.edges]  # type: ignore[attr-defined]


def test_edges_follow_opt_in_subclass_routing() -> None:
    # The peer's order of the subclass edges varies; reflow's follows first appearance.
    assert sorted(_edges(get_workflow_representation(Routes()))) == [
        ("Base", "take_base", None),
        ("Child", "take_base", None),
        ("Grandchild", "take_base", None),
        ("Other", "take_other", None),
        ("StartEvent", "start", None),
        ("start", "Child", None),
        ("start", "Other", None),
        ("take_base", "StopEvent", None),
        ("take_other", "Grandchild", None),
    ]


def test_filtering_out_events_keeps_the_filtered_event_as_the_label() -> None:
    graph = get_workflow_representation(Routes()).filter_by_node_type("event")
    assert sorted(_edges(graph)) == [
        ("start", "take_base", "Child"),
        ("start", "take_other", "Other"),
        ("take_other", "take_base", "Grandchild"),
    ]
    assert [node.id for node in graph.nodes] == ["start", "take_base", "take_other"]


def test_filtering_out_steps_labels_bridges_with_the_step() -> None:
    graph = get_workflow_representation(Routes()).filter_by_node_type("step")
    assert sorted(_edges(graph)) == [
        ("Base", "StopEvent", "take_base"),
        ("Child", "StopEvent", "take_base"),
        ("Grandchild", "StopEvent", "take_base"),
        ("Other", "Grandchild", "take_other"),
        ("StartEvent", "Child", "start"),
        ("StartEvent", "Other", "start"),
    ]


class Finishes(StopEvent):
    pass


class CatchAll(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Finishes:
        return Finishes()

    @step(accept_event_subclasses=True)
    async def anything(self, ev: Event) -> None:
        return None

    @step(accept_event_subclasses=True)
    async def stops(self, ev: StopEvent) -> None:
        return None


def test_subclass_fan_out_leaves_stop_events_out() -> None:
    assert sorted(_edges(get_workflow_representation(CatchAll()))) == [
        ("Event", "anything", None),
        ("StartEvent", "anything", None),
        ("StartEvent", "start", None),
        ("start", "Finishes", None),
    ]
