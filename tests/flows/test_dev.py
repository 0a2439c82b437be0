"""Development mode: one node at a time on cached upstream outputs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from tests.flows.conftest import edge, node

from reflow.flows import (
    DevSession,
    FlowEngine,
    FlowError,
    FlowServices,
    NodeFailure,
    UpstreamMissingError,
    flow_function,
    load_flow,
)

DOC: dict[str, Any] = {
    "nodes": [
        node("1", "counter", {"min_value": 1, "max_value": 3}),
        node(
            "2",
            "data-transformer",
            {"output_template": '{"n": {{ data.counter.current }}}', "overwrite": False},
        ),
        node("3", "if-condition", {"condition_expression": "data.data_transformer.n > 1"}),
        node("4", "static-delay-node", {"interval": 10}),
    ],
    "edges": [edge("1", "2"), edge("2", "3"), edge("3", "4", "yes")],
}


async def test_the_cache_chain_node_by_node(services: FlowServices) -> None:
    dev = DevSession(load_flow(DOC, name="d"), services, session="s1", ttl=60)
    with pytest.raises(UpstreamMissingError, match="Run '1' first"):
        await dev.run_node("2")
    first = await dev.run_node("1")
    assert first.output is not None and first.output["data"]["counter"]["current"] == 1
    second = await dev.run_node("2")
    assert second.input["data"]["counter"]["current"] == 1
    assert second.output is not None and second.output["data"]["data_transformer"] == {"n": 1}
    third = await dev.run_node("3")
    assert third.route == "no"
    ttl = await services.redis().ttl(dev.output_key("3"))
    assert 0 < ttl <= 60
    # The session keeps the counter's state between calls.
    assert (await dev.run_node("1")).output["data"]["counter"]["current"] == 2  # type: ignore[index]
    assert (await dev.run_node("2")).output["data"]["data_transformer"] == {"n": 2}  # type: ignore[index]
    assert (await dev.run_node("3")).route == "yes"
    # Another session has its own cache.
    other = DevSession(load_flow(DOC, name="d"), services, session="s2")
    with pytest.raises(UpstreamMissingError):
        await other.run_node("3")
    assert await dev.reset() == 3
    with pytest.raises(UpstreamMissingError):
        await dev.run_node("2")
    assert (await dev.run_node("1")).output["data"]["counter"]["current"] == 1  # type: ignore[index]


async def test_timeout_and_failures_never_leave_half_saved_output(
    services: FlowServices,
) -> None:
    dev = DevSession(load_flow(DOC, name="d"), services)
    await dev.run_node("3", input={"data": {"data_transformer": {"n": 5}}})
    with pytest.raises(FlowError, match=r"timed out after 0\.05 seconds"):
        await dev.run_node("4", timeout=0.05)
    assert await dev.output("4") is None
    broken = {"data": {"data_transformer": "not a mapping"}}
    with pytest.raises(ValueError, match="Failed to evaluate condition"):
        await dev.run_node("3", input=broken)
    assert (await dev.output("3")) is not None  # the earlier output stays, untouched
    assert (await dev.output("3"))["data"]["if_condition"]["result"] is True  # type: ignore[index]
    with pytest.raises(FlowError, match="no node 'nope'"):
        await dev.run_node("nope")


async def test_production_only_nodes_are_refused(services: FlowServices) -> None:
    doc = {"nodes": [node("r", "queue-reader-dummy", config={"queue_name": "q"})], "edges": []}
    with pytest.raises(FlowError, match="production mode only"):
        await DevSession(load_flow(doc), services).run_node("r")


async def test_dlq_entry_records_the_failure_and_replay_succeeds_after_the_fix(
    services: FlowServices,
) -> None:
    state = {"broken": True}

    def check(data: dict[str, Any]) -> str:
        if state["broken"]:
            raise RuntimeError(f"cannot handle {data['counter']['current']}")
        return "fixed"

    globals()["_check"] = flow_function(check)
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 2}),
            node("f", "python-function", {"function": f"{__name__}:_check"}),
            node("after", "data-transformer", {"output_template": '"ok"', "overwrite": False}),
        ],
        "edges": [edge("1", "f"), edge("f", "after")],
    }
    engine = FlowEngine(load_flow(doc, name="replayed"), services)
    stats = await engine.run_production()
    assert (stats["1"].iterations, stats["1"].failed, stats["1"].dead_lettered) == (2, 2, 2)
    entries = await engine.dlq.list()
    assert [e["input"]["data"]["counter"]["current"] for e in entries] == [2, 1]  # newest first
    entry = entries[1]
    assert entry["node_id"] == "f" and entry["loop"] == "1"
    assert entry["error_type"] == "RuntimeError" and entry["error_message"] == "cannot handle 1"
    assert "Traceback" in entry["traceback"] and "cannot handle 1" in entry["traceback"]
    assert entry["timestamp"].endswith("+00:00")
    assert await engine.dlq.get(entry["entry_id"]) == entry
    with pytest.raises(NodeFailure):
        await engine.replay(entry["entry_id"])
    assert await engine.dlq.count() == 2
    state["broken"] = False
    result = await engine.replay(entry["entry_id"])
    assert result["outputs"]["after"]["python_function"] == "fixed"
    assert result["outputs"]["after"]["counter"]["current"] == 1
    assert await engine.dlq.count() == 1
    assert await engine.dlq.purge() == 1
    assert await engine.dlq.list() == []
    with pytest.raises(FlowError, match="no dead-letter entry"):
        await engine.dlq.get("missing")


async def test_webhook_producer_receives_published_requests(services: FlowServices) -> None:
    from reflow.flows import publish_webhook

    doc = {"nodes": [node("h", "webhook-producer", {"webhook_id": "orders-1"})], "edges": []}
    engine = FlowEngine(load_flow(doc), services, keep_outputs=True)
    task = asyncio.create_task(engine.run_production(max_iterations=2))
    for body in ({"id": 1}, {"id": 2}):
        while await publish_webhook(services, "orders-1", body, method="POST") == 0:
            await asyncio.sleep(0.01)
        while engine.stats.get("h") is None or engine.stats["h"].iterations < body["id"]:
            await asyncio.sleep(0.01)
    stats = await asyncio.wait_for(task, 10)
    hooks = [o["h"]["webhook"] for o in stats["h"].outputs]
    assert [h["data"]["body"] for h in hooks] == [{"id": 1}, {"id": 2}]
    assert hooks[0]["webhook_id"] == "orders-1" and hooks[0]["data"]["method"] == "POST"


async def test_dynamic_delay_spreads_the_window(services: FlowServices) -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 4}),
            node(
                "d",
                "dynamic-delay-node",
                {"total_time": 0.2, "executions": 4, "jitter_percent": 50},
            ),
        ],
        "edges": [edge("1", "d")],
    }
    dev = DevSession(load_flow(doc), services)
    delays = []
    for _ in range(4):
        result = await dev.run_node("d", input={"data": {}})
        assert result.output is not None
        delays.append(result.output["metadata"]["delaySeconds"])
    assert sum(delays) == pytest.approx(0.2)
    assert len(set(delays)) > 1


async def test_a_for_each_node_runs_its_whole_body_in_development_mode(
    services: FlowServices,
) -> None:
    doc = {
        "nodes": [
            node("f", "for-each", {"array_expression": "data.items"}),
            node(
                "x",
                "data-transformer",
                {"output_template": "{{ data.forEachNode.state.item * 10 }}", "overwrite": False},
            ),
        ],
        "edges": [edge("f", "x", "subdag"), edge("x", "f")],
    }
    dev = DevSession(load_flow(doc), services)
    with pytest.raises(FlowError, match="Cannot run node 'x'"):
        await dev.run_node("x")
    result = await dev.run_node("f", input={"data": {"items": [1, 2]}})
    assert result.output is not None
    assert [r["data_transformer"] for r in result.output["data"]["loop_results"]] == [10, 20]


async def test_a_for_each_node_with_a_returning_body_reads_only_its_real_parents(
    services: FlowServices,
) -> None:
    doc = {
        "nodes": [
            node("src", "data-transformer", {"output_template": '{"items": [3]}'}),
            node("f", "for-each", {"array_expression": "data.items"}),
            node("x", "data-transformer", {"output_template": "1", "overwrite": False}),
        ],
        "edges": [edge("src", "f"), edge("f", "x", "subdag"), edge("x", "f")],
    }
    dev = DevSession(load_flow(doc), services)
    await dev.run_node("src", input={"data": {}})
    result = await dev.run_node("f")
    assert result.output is not None and len(result.output["data"]["loop_results"]) == 1
