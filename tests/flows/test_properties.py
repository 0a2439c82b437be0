"""For any DAG of transformers and constant conditions, one iteration ends, and exactly the
nodes a path of taken branches reaches run, each once."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.flows.conftest import edge, node

from reflow.flows import FlowEngine, load_flow, validate_flow


@st.composite
def dags(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, str], list[tuple[str, str, str]]]:
    count = draw(st.integers(2, 7))
    kinds = {"n0": "producer"}
    routes: dict[str, str] = {}
    edges: list[tuple[str, str, str]] = []
    for j in range(1, count):
        name = f"n{j}"
        kinds[name] = draw(st.sampled_from(["transformer", "condition"]))
        if kinds[name] == "condition":
            routes[name] = draw(st.sampled_from(["yes", "no"]))
        parents = draw(st.sets(st.integers(0, j - 1), min_size=1, max_size=3))
        for p in sorted(parents):
            parent = f"n{p}"
            handle = draw(st.sampled_from(["yes", "no"])) if kinds[parent] == "condition" else ""
            edges.append((parent, name, handle))
    nodes = []
    for name, kind in kinds.items():
        if kind == "producer":
            nodes.append(node(name, "counter", {"min_value": 1, "max_value": 1}))
        elif kind == "transformer":
            nodes.append(
                node(name, "data-transformer", {"output_template": f'"{name}"', "overwrite": False})
            )
        else:
            expression = "True" if routes[name] == "yes" else "False"
            nodes.append(node(name, "if-condition", {"condition_expression": expression}))
    doc = {
        "nodes": nodes,
        "edges": [edge(s, t, h or None) for s, t, h in edges],
        "settings": {"iteration_timeout": 10},
    }
    return doc, routes, edges


def expected_runs(routes: dict[str, str], edges: list[tuple[str, str, str]], count: int) -> set:
    ran = {"n0"}
    for j in range(1, count):
        name = f"n{j}"
        if any(t == name and s in ran and (s not in routes or h == routes[s]) for s, t, h in edges):
            ran.add(name)
    return ran


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dags())
def test_every_dag_iteration_ends_and_runs_each_reached_node_once(
    case: tuple[dict[str, Any], dict[str, str], list[tuple[str, str, str]]],
) -> None:
    doc, routes, edges = case
    assert validate_flow(doc) == []
    started: list[str] = []

    async def main() -> Any:
        engine = FlowEngine(load_flow(doc), keep_outputs=True, dead_letters=False)
        engine.subscribe(lambda k, f: started.append(f["node_id"]) if k == "node_started" else None)
        return await engine.run_production()

    stats = asyncio.run(main())
    assert stats["n0"].failed == 0 and stats["n0"].iterations == 1
    # The producer is called once more at the end, to say it is done.
    expected = expected_runs(routes, edges, len(doc["nodes"])) - {"n0"}
    assert sorted(n for n in started if n != "n0") == sorted(expected)


@given(
    st.lists(
        st.dictionaries(st.sampled_from(["a", "b", "a_2", "c"]), st.integers(0, 3), max_size=4),
        min_size=1,
        max_size=4,
    )
)
def test_a_join_keeps_every_value_of_every_parent(datas: list[dict[str, int]]) -> None:
    from reflow.flows import Payload
    from reflow.flows._nodes import merge_payloads

    merged = merge_payloads([Payload(d, {}) for d in datas]).data
    assert {k: merged[k] for k in datas[0]} == datas[0]
    for data in datas[1:]:
        for key, value in data.items():
            assert any(
                k == key or (k.startswith(f"{key}_") and k[len(key) + 1 :].isdigit())
                for k, v in merged.items()
                if v == value
            )
