"""Tests for reflow.drawing: Mermaid text (matched to the peer's utility), offline HTML, layout
and drawings of executed runs."""

from __future__ import annotations

import html
import re
import sys
import types
from html import escape
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reflow import Workflow, step
from reflow.drawing import (
    ExecutionRecord,
    draw_all_possible_flows,
    draw_all_possible_flows_mermaid,
    draw_most_recent_execution,
    draw_most_recent_execution_mermaid,
    handler_execution_trace,
)
from reflow.drawing._layout import layered_layout
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from reflow.representation import get_workflow_representation
from reflow.resource import Resource


class AEvent(Event):
    pass


class BEvent(Event):
    pass


class LinearFlow(Workflow):
    @step
    async def first(self, ev: StartEvent) -> AEvent:
        return AEvent()

    @step
    async def second(self, ev: AEvent) -> BEvent:
        return BEvent()

    @step
    async def third(self, ev: BEvent) -> StopEvent:
        return StopEvent()


class Cache:
    pass


def get_cache() -> Cache:
    return Cache()


class AskFlow(Workflow):
    @step
    async def ask(
        self, ev: StartEvent, cache: Annotated[Cache, Resource(get_cache)]
    ) -> InputRequiredEvent:
        return InputRequiredEvent()

    @step
    async def answer(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent()


class GrandChild(Workflow):
    @step
    async def g(self, ev: StartEvent) -> StopEvent:
        return StopEvent()


class Child(Workflow):
    @step
    async def inner(self, ev: StartEvent) -> StopEvent:
        await GrandChild().run()
        return StopEvent()


class Registry:
    child = Child


class Parent(Workflow):
    @step
    async def outer(self, ev: StartEvent) -> AEvent:
        await Child(timeout=3).run()
        await Registry.child().run()  # the same class again: drawn once
        return AEvent()

    @step
    async def fin(self, ev: AEvent) -> StopEvent:
        return StopEvent()


class SelfStarter(Workflow):
    @step
    async def again(self, ev: StartEvent) -> StopEvent:
        await SelfStarter().run()
        return StopEvent()


CLASS_DEFINITIONS = """\
    classDef stepStyle fill:#ADD8E6,color:#000000,line-height:1.2
    classDef externalStyle fill:#BEDAE4,color:#000000,line-height:1.2
    classDef resourceStyle fill:#DDA0DD,color:#000000,line-height:1.2
    classDef resourceConfigStyle fill:#B2DFDB,color:#000000,line-height:1.2
    classDef startEventStyle fill:#E27AFF,color:#000000
    classDef stopEventStyle fill:#FFA07A,color:#000000
    classDef defaultEventStyle fill:#90EE90,color:#000000
    classDef reactAgentStyle fill:#E27AFF,color:#000000
    classDef codeActAgentStyle fill:#66ccff,color:#000000
    classDef defaultAgentStyle fill:#90EE90,color:#000000
    classDef toolStyle fill:#ff9966,color:#000000
    classDef workflowBaseStyle fill:#90EE90,color:#000000
    classDef workflowAgentStyle fill:#66ccff,color:#000000
    classDef workflowToolStyle fill:#ff9966,color:#000000
    classDef workflowHandoffStyle fill:#E27AFF,color:#000000
    classDef childConnectorStyle fill:#E0E0E080,color:#555555,stroke-width:0px"""


def _body(mermaid: str) -> list[str]:
    """The node and edge lines (without the header and the classDef lines)."""
    return [line.strip() for line in mermaid.splitlines()[1:] if "classDef" not in line]


def test_mermaid_text_matches_the_peer_for_a_linear_workflow() -> None:
    expected = (
        "flowchart TD\n"
        '    step_first["first"]:::stepStyle\n'
        '    event_StartEvent(["StartEvent"]):::startEventStyle\n'
        '    event_AEvent(["AEvent"]):::defaultEventStyle\n'
        '    step_second["second"]:::stepStyle\n'
        '    event_BEvent(["BEvent"]):::defaultEventStyle\n'
        '    step_third["third"]:::stepStyle\n'
        '    event_StopEvent(["StopEvent"]):::stopEventStyle\n'
        "    step_first --> event_AEvent\n"
        "    event_StartEvent --> step_first\n"
        "    step_second --> event_BEvent\n"
        "    event_AEvent --> step_second\n"
        "    step_third --> event_StopEvent\n"
        "    event_BEvent --> step_third\n" + CLASS_DEFINITIONS
    )
    assert draw_all_possible_flows_mermaid(LinearFlow, filename="") == expected


def test_mermaid_shapes_for_external_nodes_and_resources() -> None:
    graph = get_workflow_representation(AskFlow)
    resource_id = next(node.id for node in graph.nodes if node.node_type == "resource")
    assert _body(draw_all_possible_flows_mermaid(AskFlow(), filename="")) == [
        'step_answer["answer"]:::stepStyle',
        'event_HumanResponseEvent(["HumanResponseEvent"]):::defaultEventStyle',
        'event_StopEvent(["StopEvent"]):::stopEventStyle',
        'step_ask["ask"]:::stepStyle',
        'event_StartEvent(["StartEvent"]):::startEventStyle',
        'event_InputRequiredEvent(["InputRequiredEvent"]):::defaultEventStyle',
        'external_external_step["external_step"]:::externalStyle',
        f'resource_{resource_id}{{{{"Cache"}}}}:::resourceStyle',
        "step_answer --> event_StopEvent",
        "event_HumanResponseEvent --> step_answer",
        "external_external_step --> event_HumanResponseEvent",
        "step_ask --> event_InputRequiredEvent",
        "event_InputRequiredEvent --> external_external_step",
        "event_StartEvent --> step_ask",
        f'step_ask -->|"cache"| resource_{resource_id}',
    ]


def test_mermaid_labels_are_truncated() -> None:
    lines = _body(draw_all_possible_flows_mermaid(LinearFlow, filename="", max_label_length=5))
    assert 'event_StartEvent(["Star*"]):::startEventStyle' in lines
    assert 'step_first["first"]:::stepStyle' in lines
    assert 'step_second["seco*"]:::stepStyle' in lines


@pytest.mark.parametrize(("value", "error"), [(0, ValueError), (-3, ValueError), ("5", TypeError)])
def test_bad_label_lengths_are_rejected(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="max_label_length"):
        draw_all_possible_flows_mermaid(LinearFlow, filename="", max_label_length=value)


def test_non_workflows_cannot_be_drawn() -> None:
    with pytest.raises(TypeError, match="Workflow subclass or instance"):
        draw_all_possible_flows_mermaid(42, filename="")  # type: ignore[arg-type]


def test_double_quotes_in_labels_are_escaped_for_mermaid() -> None:
    records = [ExecutionRecord('Say "hi"')]
    text = draw_most_recent_execution_mermaid(records, filename="")
    assert '(["Say #quot;hi#quot;"])' in text
    assert '"hi"' not in text


def test_mermaid_is_written_to_the_default_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = draw_all_possible_flows_mermaid(LinearFlow)
    assert (tmp_path / "workflow_all_flows.mermaid").read_text(encoding="utf-8") == text
    draw_all_possible_flows_mermaid(LinearFlow, filename="")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["workflow_all_flows.mermaid"]


def test_child_workflows_are_merged_with_connectors() -> None:
    body = _body(draw_all_possible_flows_mermaid(Parent, filename=""))
    assert body[:10] == [
        'step_fin["fin"]:::stepStyle',
        'event_AEvent(["AEvent"]):::defaultEventStyle',
        'event_StopEvent(["StopEvent"]):::stopEventStyle',
        'step_outer["outer"]:::stepStyle',
        'event_StartEvent(["StartEvent"]):::startEventStyle',
        'step_outer_Child_inner["inner"]:::stepStyle',
        'event_outer_Child_StartEvent(["StartEvent"]):::defaultEventStyle',
        'event_outer_Child_StopEvent(["StopEvent"]):::defaultEventStyle',
        'child_connector_outer_Child_calls(["calls: Child"]):::childConnectorStyle',
        'child_connector_outer_Child_returns(["returns: Child"]):::childConnectorStyle',
    ]
    edges = [line for line in body if "-->" in line]
    assert edges[4:10] == [
        "step_outer_Child_inner --> event_outer_Child_StopEvent",
        "event_outer_Child_StartEvent --> step_outer_Child_inner",
        "step_outer --> child_connector_outer_Child_calls",
        "child_connector_outer_Child_calls --> event_outer_Child_StartEvent",
        "event_outer_Child_StopEvent --> child_connector_outer_Child_returns",
        "child_connector_outer_Child_returns --> step_outer",
    ]
    # Children of children are drawn too (the peer stops at one level).
    assert 'step_outer_Child_inner_GrandChild_g["g"]:::stepStyle' in body
    assert "step_outer_Child_inner --> child_connector_outer_Child_inner_GrandChild_calls" in body
    assert sum("calls: Child" in line for line in body) == 1


def test_child_workflows_can_be_left_out() -> None:
    text = draw_all_possible_flows_mermaid(Parent, filename="", include_child_workflows=False)
    assert "Child" not in text


def test_a_workflow_is_never_drawn_inside_itself() -> None:
    text = draw_all_possible_flows_mermaid(SelfStarter, filename="")
    assert all("child_connector" not in line for line in _body(text))


def _no_remote_resources(page: str) -> None:
    assert not re.search(r"https?://", page)
    assert "<script" not in page.lower()
    assert "<link" not in page.lower()
    assert "@import" not in page


def test_html_page_is_self_contained_and_names_every_node(tmp_path: Path) -> None:
    target = tmp_path / "flows.html"
    assert draw_all_possible_flows(Parent, filename=str(target)) is None
    page = target.read_text(encoding="utf-8")
    _no_remote_resources(page)
    assert page.startswith("<!DOCTYPE html>")
    assert "<svg" in page
    labels = [node.label for node in get_workflow_representation(Parent).nodes]
    labels += ["inner", "g", "calls: Child", "returns: Child", "calls: GrandChild"]
    for label in labels:
        assert f">{escape(label)}</text>" in page
    assert page.count('class="node ') == len(
        re.findall(r"^    \w+[\[\(\{]", _mermaid_of(page), re.M)
    )


def _mermaid_of(page: str) -> str:
    match = re.search(r"<pre>(.*)</pre>", page, re.S)
    assert match is not None
    return html.unescape(match.group(1))


def test_html_page_embeds_the_mermaid_source(tmp_path: Path) -> None:
    target = tmp_path / "linear.html"
    draw_all_possible_flows(LinearFlow, filename=str(target), max_label_length=4)
    page = target.read_text(encoding="utf-8")
    assert _mermaid_of(page) == draw_all_possible_flows_mermaid(
        LinearFlow, filename="", max_label_length=4
    )
    assert ">Sta*</text>" in page


def test_notebook_mode_displays_the_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    shown: list[Any] = []
    display_module = types.ModuleType("IPython.display")
    display_module.HTML = lambda data: ("HTML", data)  # type: ignore[attr-defined]
    display_module.display = shown.append  # type: ignore[attr-defined]
    ipython = types.ModuleType("IPython")
    ipython.display = display_module  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", ipython)
    monkeypatch.setitem(sys.modules, "IPython.display", display_module)
    draw_all_possible_flows(LinearFlow, filename=str(tmp_path / "x.html"), notebook=True)
    assert len(shown) == 1
    assert shown[0][0] == "HTML"
    assert shown[0][1] == (tmp_path / "x.html").read_text(encoding="utf-8")


def test_notebook_mode_without_ipython_only_writes_the_file(tmp_path: Path) -> None:
    draw_all_possible_flows(LinearFlow, filename=str(tmp_path / "x.html"), notebook=True)
    assert (tmp_path / "x.html").exists()


# --- executions -----------------------------------------------------------------------------


class _Context:
    def __init__(self, records: list[Any]) -> None:
        self._records = records

    def _execution_trace(self) -> list[Any]:
        return self._records


class _Handler:
    def __init__(self, records: list[Any]) -> None:
        self.ctx = _Context(records)


class MyStop(StopEvent):
    pass


# A run where ``start`` sends two AEvents, ``work`` turns each into a BEvent and ``gather``
# collects both BEvents before stopping.
FAN_OUT_RUN: list[Any] = [
    (StartEvent, None, None),
    (StartEvent, "start", AEvent, "run-1"),
    (StartEvent, "start", AEvent, "run-1"),
    (AEvent, "work", BEvent),
    (BEvent, "gather", None),
    (AEvent, "work", BEvent),
    (BEvent, "gather", MyStop),
]


def test_execution_mermaid_numbers_step_runs_and_event_occurrences() -> None:
    assert _body(draw_most_recent_execution_mermaid(_Handler(FAN_OUT_RUN), filename="")) == [
        'external_step["external_step"]:::externalStyle',
        'event_StartEvent_0(["StartEvent"]):::startEventStyle',
        'step_start_1["start#1"]:::stepStyle',
        'event_AEvent_1(["AEvent"]):::defaultEventStyle',
        'event_AEvent_2(["AEvent"]):::defaultEventStyle',
        'step_work_1["work#1"]:::stepStyle',
        'event_BEvent_3(["BEvent"]):::defaultEventStyle',
        'step_gather_1["gather#1"]:::stepStyle',
        'step_work_2["work#2"]:::stepStyle',
        'event_BEvent_4(["BEvent"]):::defaultEventStyle',
        'step_gather_2["gather#2"]:::stepStyle',
        'event_MyStop_5(["MyStop"]):::stopEventStyle',
        "external_step --> event_StartEvent_0",
        "event_StartEvent_0 --> step_start_1",
        "step_start_1 --> event_AEvent_1",
        "step_start_1 --> event_AEvent_2",
        "event_AEvent_1 --> step_work_1",
        "step_work_1 --> event_BEvent_3",
        "event_BEvent_3 --> step_gather_1",
        "event_AEvent_2 --> step_work_2",
        "step_work_2 --> event_BEvent_4",
        "event_BEvent_4 --> step_gather_2",
        "step_gather_2 --> event_MyStop_5",
    ]


def test_an_event_reaching_two_steps_feeds_both() -> None:
    records = [("StartEvent", None, None), ("StartEvent", "a", None), ("StartEvent", "b", None)]
    body = _body(draw_most_recent_execution_mermaid(records, filename=""))
    assert "event_StartEvent_0 --> step_a_1" in body
    assert "event_StartEvent_0 --> step_b_1" in body


def test_unrecorded_emissions_are_drawn_as_coming_from_outside() -> None:
    body = _body(draw_most_recent_execution_mermaid([("AEvent", "work", "StopEvent")], ""))
    assert body[0] == 'external_step["external_step"]:::externalStyle'
    assert "external_step --> event_AEvent_0" in body
    assert "step_work_1 --> event_StopEvent_1" in body


def test_handler_trace_is_read_from_the_handler_or_its_context() -> None:
    class Direct:
        def _execution_trace(self) -> list[Any]:
            return [("StartEvent", None, None)]

    assert handler_execution_trace(Direct()) == [ExecutionRecord("StartEvent")]
    assert handler_execution_trace(_Handler([["StartEvent", None, None]])) == [
        ExecutionRecord("StartEvent", None, None)
    ]
    with pytest.raises(TypeError, match="_execution_trace"):
        handler_execution_trace(object())


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ("StartEvent", "must be a tuple"),
        ((), "must be a tuple"),
        ((1, None, None), "event must be"),
        (("A", 3, None), "step must be"),
        (("A", "s", 4), "produced must be"),
        (("A", None, "B"), "from outside"),
    ],
)
def test_malformed_records_are_named(record: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"#1.*{message}"):
        draw_most_recent_execution_mermaid([("StartEvent", None, None), record], filename="")


def test_execution_html_is_self_contained(tmp_path: Path) -> None:
    target = tmp_path / "run.html"
    draw_most_recent_execution(_Handler(FAN_OUT_RUN), filename=str(target))
    page = target.read_text(encoding="utf-8")
    _no_remote_resources(page)
    for label in ["start#1", "work#2", "gather#2", "MyStop", "external_step"]:
        assert f">{escape(label)}</text>" in page


# --- layout ---------------------------------------------------------------------------------

_keys = st.sampled_from([f"n{i}" for i in range(9)])


@settings(max_examples=150)
@given(
    keys=st.lists(_keys, min_size=1, max_size=9, unique=True),
    edges=st.lists(st.tuples(_keys, _keys), max_size=20),
    widths=st.lists(st.floats(min_value=20, max_value=200), min_size=9, max_size=9),
)
def test_layout_places_every_node_without_overlap_and_routes_between_borders(
    keys: list[str], edges: list[tuple[str, str]], widths: list[float]
) -> None:
    nodes = [(key, widths[i], 36.0) for i, key in enumerate(keys)]
    kept = [(s, t, None) for s, t in edges if s in keys and t in keys]
    layout = layered_layout(nodes, kept)
    assert set(layout.boxes) == set(keys)
    boxes = list(layout.boxes.values())
    for i, a in enumerate(boxes):
        assert a.x - a.width / 2 >= 0 and a.x + a.width / 2 <= layout.width
        assert a.y - a.height / 2 >= 0 and a.y + a.height / 2 <= layout.height
        for b in boxes[i + 1 :]:
            apart_x = abs(a.x - b.x) >= (a.width + b.width) / 2 - 1e-6
            apart_y = abs(a.y - b.y) >= (a.height + b.height) / 2 - 1e-6
            assert apart_x or apart_y
    assert [(r.source, r.target) for r in layout.routes] == [(s, t) for s, t, _ in kept]
    for route in layout.routes:
        source, target = layout.boxes[route.source], layout.boxes[route.target]
        start, end = route.points[0], route.points[-1]
        assert abs(start[0] - source.x) <= source.width / 2 + 1e-6
        assert abs(end[0] - target.x) <= target.width / 2 + 1e-6
        if route.source != route.target:
            assert abs(abs(start[1] - source.y) - source.height / 2) < 1e-6
            assert abs(abs(end[1] - target.y) - target.height / 2) < 1e-6


@given(edges=st.lists(st.tuples(_keys, _keys).filter(lambda e: e[0] < e[1]), max_size=20))
def test_acyclic_edges_all_point_down(edges: list[tuple[str, str]]) -> None:
    keys = sorted({k for edge in edges for k in edge}) or ["n0"]
    layout = layered_layout([(k, 60.0, 36.0) for k in keys], [(s, t, None) for s, t in edges])
    for source, target in edges:
        assert layout.boxes[source].y < layout.boxes[target].y
