"""Production mode in memory: node kinds, data accumulation, joins, forks, for-each,
retries, timeouts, templating failures, user node types and the built-ins."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel
from tests.flows.conftest import edge, node

from reflow.flows import (
    BlockingNode,
    ConditionalNode,
    FlowEngine,
    FlowServices,
    NodeRegistry,
    Payload,
    default_registry,
    load_flow,
)
from reflow.flows._cron import CronError, CronSchedule


def T(template: str) -> dict[str, Any]:
    return {"output_template": template, "overwrite": False}


async def run(doc: dict[str, Any], registry: NodeRegistry | None = None, **kw: Any) -> Any:
    engine = FlowEngine(
        load_flow(doc, registry=registry, name="t"),
        kw.pop("services", None) or FlowServices(prefix="unused:"),
        keep_outputs=True,
        **kw,
    )
    stats = await engine.run_production()
    return engine, stats


async def test_data_accumulates_with_suffixed_keys_and_the_producer_ends_the_loop() -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 3}),
            node("2", "data-transformer", T('{"n": {{ data.counter.current }}}')),
            node("3", "data-transformer", T('{"twice": {{ data.data_transformer.n * 2 }}}')),
        ],
        "edges": [edge("1", "2"), edge("2", "3")],
    }
    _, stats = await run(doc)
    outputs = [o["3"] for o in stats["1"].outputs]
    assert [o["data_transformer_2"]["twice"] for o in outputs] == [2, 4, 6]
    assert outputs[0]["counter"]["iteration"] == 1


async def test_counter_counts_down_and_string_iterator_splits() -> None:
    doc = {
        "nodes": [
            node(
                "1",
                "counter",
                {"min_value": 0, "max_value": 4, "step": 2, "direction": "decrement"},
            ),
            node(
                "s",
                "string-iterator-producer",
                {"data_content": "a, b,,c", "separator_type": "comma"},
            ),
        ],
        "edges": [],
    }
    _, stats = await run(doc)
    assert [o["1"]["counter"]["current"] for o in stats["1"].outputs] == [4, 2, 0]
    assert [o["s"]["string_iterator"] for o in stats["s"].outputs] == [
        {"value": "a", "iteration_index": 1},
        {"value": "b", "iteration_index": 2},
        {"value": "c", "iteration_index": 3},
    ]


def after_one_tick(type_id: str, form: dict[str, Any], **data: Any) -> dict[str, Any]:
    """A flow whose counter ticks once into one node ``x`` of ``type_id``."""
    return {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 1}),
            node("x", type_id, form, **data),
        ],
        "edges": [edge("1", "x")],
    }


async def dead_letter(doc: dict[str, Any], services: FlowServices) -> dict[str, Any]:
    """Run ``doc`` (one failing iteration) and return its only dead-letter entry."""
    engine, _ = await run(doc, services=services)
    [entry] = await engine.dlq.list()
    return dict(entry)


class Slow(BaseModel):
    tag: str


running = {"now": 0, "most": 0}


class SlowNode(BlockingNode[Slow]):
    type_id = "slow"
    config_model = Slow

    async def execute(self, payload: Payload, config: Slow) -> Payload:
        running["now"] += 1
        running["most"] = max(running["most"], running["now"])
        await asyncio.sleep(0.05)
        running["now"] -= 1
        return payload.with_output("slow", config.tag)


async def test_fork_branches_run_concurrently_and_the_join_runs_once_on_merged_data() -> None:
    registry = default_registry().copy()
    registry.register(SlowNode)
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 2}),
            node("a", "slow", {"tag": "A"}),
            node("b", "slow", {"tag": "B"}),
            node("j", "data-transformer", T('{"seen": "{{ data.slow }}+{{ data.slow_2 }}"}')),
        ],
        "edges": [edge("1", "a"), edge("1", "b"), edge("a", "j"), edge("b", "j")],
    }
    calls: list[str] = []
    engine = FlowEngine(load_flow(doc, registry=registry), keep_outputs=True)
    engine.subscribe(lambda kind, f: calls.append(f["node_id"]) if kind == "node_started" else None)
    stats = await engine.run_production()
    assert running["most"] == 2
    assert calls.count("j") == 2  # once per iteration
    assert [o["j"]["data_transformer"]["seen"] for o in stats["1"].outputs] == ["A+B"] * 2


async def test_conditional_branches_and_a_sink_on_each() -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 4}),
            node("c", "if-condition", {"condition_expression": "data.counter.current > 2"}),
            node("y", "data-transformer", T('"big"')),
            node("n", "data-transformer", T('"small"')),
        ],
        "edges": [edge("1", "c"), edge("c", "y", "Yes"), edge("c", "n", "No")],
    }
    engine = FlowEngine(load_flow(doc), keep_outputs=True)
    seen: list[tuple[str, dict[str, Any]]] = []
    engine.subscribe(lambda kind, fields: seen.append((kind, fields)))
    stats = await engine.run_production()
    assert [list(o) for o in stats["1"].outputs] == [["n"], ["n"], ["y"], ["y"]]
    routes = [f["route"] for k, f in seen if k == "node_completed" and f["node_id"] == "c"]
    assert routes == ["no", "no", "yes", "yes"]
    assert all(f["duration"] >= 0 for k, f in seen if k == "node_completed" and "duration" in f)
    assert ("loop_completed", {"loop": "1", "iterations": 4}) in seen
    assert stats["1"].outputs[2]["y"]["if_condition"]["route"] == "yes"


async def test_for_each_runs_its_body_per_item_then_default_with_results() -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 1}),
            node("f", "for-each", {"array_expression": "[1, 2, 3]"}),
            node(
                "sq",
                "data-transformer",
                T("{{ data.forEachNode.state.item * data.forEachNode.state.item }}"),
            ),
            node("after", "data-transformer", T('{"n": {{ data.loop_results | length }}}')),
        ],
        "edges": [edge("1", "f"), edge("f", "sq", "subdag"), edge("sq", "f"), edge("f", "after")],
    }
    _, stats = await run(doc)
    out = stats["1"].outputs[0]["after"]
    assert [r["data_transformer"] for r in out["loop_results"]] == [1, 4, 9]
    assert out["data_transformer"] == {"n": 3}


async def test_for_each_reads_a_key_path_and_non_lists_give_no_items() -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 1}),
            node("f", "for-each", {"array_expression": "data.counter.current"}),
            node("b", "data-transformer", T("1")),
        ],
        "edges": [edge("1", "f"), edge("f", "b", "subdag")],
    }
    _, stats = await run(doc)
    assert stats["1"].outputs[0]["f"]["loop_results"] == []


class Flaky(BaseModel):
    fail_times: int


class FlakyNode(BlockingNode[Flaky]):
    type_id = "flaky"
    config_model = Flaky
    calls: ClassVar[int] = 0

    async def execute(self, payload: Payload, config: Flaky) -> Payload:
        FlakyNode.calls += 1
        if FlakyNode.calls <= config.fail_times:
            raise RuntimeError(f"boom {FlakyNode.calls}")
        return payload.with_output("flaky", FlakyNode.calls)


async def test_node_retry_policy_and_fail_fast_default(services: FlowServices) -> None:
    registry = default_registry().copy()
    registry.register(FlakyNode)
    retried = after_one_tick("flaky", {"fail_times": 2}, retry={"attempts": 3, "delay": 0})
    FlakyNode.calls = 0
    _, stats = await run(retried, registry, services=services)
    assert stats["1"].outputs[0]["x"]["flaky"] == 3
    FlakyNode.calls = 0
    retried["nodes"][1]["data"].pop("retry")
    engine, stats = await run(retried, registry, services=services)
    assert (stats["1"].failed, stats["1"].dead_lettered, FlakyNode.calls) == (1, 1, 1)
    [entry] = await engine.dlq.list()
    assert entry["node_id"] == "x" and entry["error_type"] == "RuntimeError"


async def test_step_timeout_fails_the_iteration(services: FlowServices) -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 2}),
            node("d", "static-delay-node", {"interval": 5}, timeout=0.05),
        ],
        "edges": [edge("1", "d")],
    }
    engine, stats = await run(doc, services=services)
    assert stats["1"].failed == 2
    entries = await engine.dlq.list()
    assert {e["error_type"] for e in entries} == {"NodeTimeoutError"}
    assert {e["node_id"] for e in entries} == {"d"}


@pytest.mark.parametrize(
    ("template", "needle"),
    [
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{{ ''.__class__.__mro__ }}", "SecurityError"),
        ("{{ data.counter.current.__class__ }}", "SecurityError"),
    ],
)
async def test_templates_that_raise_fail_the_node_naming_the_field(
    services: FlowServices, template: str, needle: str
) -> None:
    entry = await dead_letter(after_one_tick("data-transformer", T(template)), services)
    assert entry["node_id"] == "x" and entry["error_type"] == "NodeConfigError"
    assert "output_template" in entry["error_message"] and needle in entry["error_message"]


async def test_rendered_value_of_the_wrong_type_names_the_field(services: FlowServices) -> None:
    doc = after_one_tick("static-delay-node", {"interval": "{{ data.counter.direction }}"})
    entry = await dead_letter(doc, services)
    assert "Node 'x': invalid configuration: interval:" in entry["error_message"]


async def test_env_runtime_and_set_runtime_filter_in_templates() -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 2}),
            node(
                "t",
                "data-transformer",
                T(
                    '{"who": "{{ workflowenv.who }}", "last": "{{ runtime.last }}",'
                    ' "x": "{{ data.counter.current | set_runtime(\'last\') }}"}'
                ),
            ),
        ],
        "edges": [edge("1", "t")],
        "env": {"who": "ops"},
    }
    _, stats = await run(doc)
    assert [o["t"]["data_transformer"] for o in stats["1"].outputs] == [
        {"who": "ops", "last": "", "x": "1"},
        {"who": "ops", "last": "1", "x": "2"},
    ]


async def test_http_request_node_against_a_local_server(http_server: str) -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 7, "max_value": 7}),
            node(
                "h",
                "http-request",
                {
                    "method": "post",
                    "url": http_server + "/hook",
                    "query_params": '{"q": "{{ data.counter.current }}"}',
                    "body": '{"n": {{ data.counter.current }}}',
                    "auth_type": "bearer",
                    "auth_bearer_token": "tok",
                },
            ),
            node("bad", "http-request", {"url": "http://127.0.0.1:9/", "timeout_seconds": 1}),
        ],
        "edges": [edge("1", "h"), edge("h", "bad")],
    }
    _, stats = await run(doc)
    out = stats["1"].outputs[0]["bad"]
    assert out["http_request"]["status"] == 201
    assert out["http_request"]["body"] == {
        "got": {"n": 7},
        "auth": "Bearer tok",
        "path": "/hook?q=7",
    }
    assert out["http_request_2"]["status"] == 0
    assert out["http_request_2"]["error"]["type"] == "ConnectError"


async def test_file_writer_http_response_and_python_function(tmp_path: Path) -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 2}),
            node(
                "f",
                "file-writer",
                {
                    "file_path": "out/log.txt",
                    "mode": "a",
                    "content": "n={{ data.counter.current }}",
                },
            ),
            node("p", "python-function", {"function": "tests.flows._recorder:as_json"}),
            node("r", "http-response", {"status_code": 202}),
        ],
        "edges": [edge("1", "f"), edge("f", "p"), edge("p", "r")],
        "settings": {"files_dir": str(tmp_path)},
    }
    _, stats = await run(doc)
    assert (tmp_path / "out/log.txt").read_text() == "n=1\nn=2\n"
    last = stats["1"].outputs[1]["r"]
    assert last["__http_response__"] is True and last["status"] == 202
    assert json.loads(last["body"]["python_function"])["counter"]["current"] == 2
    escape = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 1}),
            node("f", "file-writer", {"file_path": "../../etc/x"}),
        ],
        "edges": [edge("1", "f")],
        "settings": {"files_dir": str(tmp_path)},
    }
    engine = FlowEngine(load_flow(escape), dead_letters=False)
    stats = await engine.run_production()
    assert stats["1"].failed == 1


async def test_thread_and_process_pools() -> None:
    registry = default_registry().copy()

    class InThread(SlowNode):
        type_id = "slow-thread"
        pool = "thread"

    registry.register(InThread)
    registry.register(ProcessNode)
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 1}),
            node("t", "slow-thread", {"tag": "T"}),
            node("p", "in-process"),
        ],
        "edges": [edge("1", "t"), edge("t", "p")],
    }
    _, stats = await run(doc, registry)
    out = stats["1"].outputs[0]["p"]
    assert out["slow"] == "T" and isinstance(out["in_process"], int)


class ProcessNode(BlockingNode[Any]):
    type_id = "in-process"
    pool = "process"

    async def execute(self, payload: Payload, config: Any) -> Payload:
        import os

        return payload.with_output("in_process", os.getpid())


async def test_interval_producer_and_stop() -> None:
    doc = {"nodes": [node("1", "interval", {"seconds": 0.01, "count": 3})], "edges": []}
    _, stats = await run(doc)
    assert [o["1"]["interval"]["iteration"] for o in stats["1"].outputs] == [1, 2, 3]
    forever = {"nodes": [node("1", "interval", {"seconds": 30})], "edges": []}
    engine = FlowEngine(load_flow(forever), keep_outputs=True)
    task = asyncio.create_task(engine.run_production())
    await asyncio.sleep(0.05)
    engine.stop()
    stats = await asyncio.wait_for(task, 5)
    assert stats["1"].iterations == 1


def test_cron_schedule() -> None:
    from datetime import datetime

    schedule = CronSchedule.parse("*/15 9-17 * * 1-5")
    assert schedule.next_after(datetime(2026, 12, 4, 17, 50)) == datetime(2026, 12, 7, 9, 0)
    assert CronSchedule.parse("0 0 29 2 *").next_after(datetime(2026, 3, 1)).year == 2028
    for bad in ("* * *", "61 * * * *", "a * * * *", "5-1 * * * *"):
        with pytest.raises(CronError):
            CronSchedule.parse(bad)


async def test_the_compiled_workflow_is_a_reflow_workflow() -> None:
    from reflow import Workflow
    from reflow.drawing import draw_all_possible_flows_mermaid

    doc = {
        "nodes": [node("1", "counter", {"max_value": 0}), node("2", "data-transformer", T("1"))],
        "edges": [edge("1", "2")],
    }
    engine = FlowEngine(load_flow(doc))
    workflow = engine.workflow()
    assert isinstance(workflow, Workflow)
    text = draw_all_possible_flows_mermaid(workflow, filename="")
    assert "node_1" in text and "node_2" in text
    result = await workflow.run()
    assert result["outputs"]["2"]["data_transformer"] == 1


async def test_loops_run_on_the_durable_runtime(tmp_path: Path) -> None:
    from reflow.durable import DurableRuntime

    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 2}),
            node("a", "data-transformer", T('"A"')),
            node("b", "data-transformer", T('"B"')),
        ],
        "edges": [edge("1", "a"), edge("1", "b")],
    }
    runtime = DurableRuntime(str(tmp_path / "runs.db"))
    await runtime.launch()
    try:
        engine = FlowEngine(load_flow(doc), keep_outputs=True, runtime=runtime)
        stats = await engine.run_production()
        assert [sorted(o) for o in stats["1"].outputs] == [["a", "b"], ["a", "b"]]
        runs = await runtime.list_runs()
        assert len(runs) == 3 and {r.status for r in runs} == {"completed"}
    finally:
        await runtime.destroy()


async def test_iteration_timeout_is_dead_lettered_without_a_node(services: FlowServices) -> None:
    from reflow.flows import FlowError

    doc = {
        **after_one_tick("static-delay-node", {"interval": 5}),
        "settings": {"iteration_timeout": 0.05},
    }
    engine, _ = await run(doc, services=services)
    [entry] = await engine.dlq.list()
    assert entry["node_id"] == "" and "Timeout" in entry["error_type"]
    with pytest.raises(FlowError, match="no node to replay it from"):
        await engine.replay(entry["entry_id"])


async def test_node_ids_that_would_share_a_step_name_get_distinct_steps() -> None:
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 1}),
            node("a-b", "data-transformer", T('"dash"')),
            node("a_b", "data-transformer", T('"underscore"')),
            node("finish", "data-transformer", T('"last"')),
        ],
        "edges": [edge("1", "a-b"), edge("a-b", "a_b"), edge("a_b", "finish")],
    }
    engine, stats = await run(doc)
    assert set(engine.loop().step_names.values()) == {"node_1", "a_b", "a_b_2", "finish_2"}
    out = stats["1"].outputs[0]["finish"]
    assert [out[k] for k in ("data_transformer", "data_transformer_2", "data_transformer_3")] == [
        "dash",
        "underscore",
        "last",
    ]


async def test_python_function_refuses_unmarked_functions(services: FlowServices) -> None:
    entry = await dead_letter(
        after_one_tick("python-function", {"function": "os:listdir"}), services
    )
    assert entry["error_type"] == "PermissionError" and "flow_function" in entry["error_message"]


async def test_a_waiting_cron_producer_ends_when_stopped() -> None:
    doc = {"nodes": [node("c", "cron", {"expression": "0 0 1 1 *"})], "edges": []}
    engine = FlowEngine(load_flow(doc), keep_outputs=True)
    task = asyncio.create_task(engine.run_production())
    await asyncio.sleep(0.05)
    engine.stop()
    stats = await asyncio.wait_for(task, 5)
    assert stats["c"].iterations == 0


async def test_concurrent_iterations_call_the_producer_in_order_and_all_finish() -> None:
    registry = default_registry().copy()
    registry.register(SlowNode)
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 10}),
            node("s", "slow", {"tag": "S"}),
        ],
        "edges": [edge("1", "s")],
        "settings": {"concurrency": 4},
    }
    running["most"] = 0
    _, stats = await run(doc, registry)
    assert running["most"] == 4
    values = [o["s"]["counter"]["current"] for o in stats["1"].outputs]
    assert sorted(values) == list(range(1, 11)) and stats["1"].iterations == 10


class WhereNode(BlockingNode[Any]):
    type_id = "where"

    async def execute(self, payload: Payload, config: Any) -> Payload:
        return payload.with_output(self.node_id, threading.current_thread().name)


async def test_fork_execution_pool_runs_the_branches_in_that_pool() -> None:
    registry = default_registry().copy()
    registry.register(WhereNode)
    doc = {
        "nodes": [
            node("1", "counter", {"min_value": 1, "max_value": 1}),
            node("a", "where"),
            node("a2", "where"),
            node("b", "where"),
            node("j", "where"),
        ],
        "edges": [edge("1", "a"), edge("a", "a2"), edge("1", "b"), edge("a2", "j"), edge("b", "j")],
        "settings": {"fork_execution_pool": "thread"},
    }
    _, stats = await run(doc, registry)
    out = stats["1"].outputs[0]["j"]
    main = threading.current_thread().name
    assert out["j"] == main
    assert all(out[n] != main for n in ("a", "a2", "b"))


async def test_an_observer_that_raises_never_stops_the_flow() -> None:
    doc = after_one_tick("data-transformer", T('"ok"'))
    engine = FlowEngine(load_flow(doc), keep_outputs=True)

    def broken(kind: str, fields: dict[str, Any]) -> None:
        raise RuntimeError("observer bug")

    engine.subscribe(broken)
    stats = await engine.run_production()
    assert stats["1"].failed == 0 and stats["1"].outputs[0]["x"]["data_transformer"] == "ok"


class Undecided(ConditionalNode[Any]):
    type_id = "undecided"

    async def execute(self, payload: Payload, config: Any) -> Payload:
        return payload


async def test_a_conditional_that_chooses_no_branch_fails(services: FlowServices) -> None:
    registry = default_registry().copy()
    registry.register(Undecided)
    engine, _ = await run(after_one_tick("undecided", {}), registry, services=services)
    [entry] = await engine.dlq.list()
    assert "chose no branch" in entry["error_message"]


class ReturnsDict(BlockingNode[Any]):
    type_id = "returns-dict"

    async def execute(self, payload: Payload, config: Any) -> Payload:
        return {"oops": True}  # type: ignore[return-value]


async def test_a_node_returning_something_else_than_a_payload_fails_clearly(
    services: FlowServices,
) -> None:
    registry = default_registry().copy()
    registry.register(ReturnsDict)
    engine, _ = await run(after_one_tick("returns-dict", {}), registry, services=services)
    [entry] = await engine.dlq.list()
    assert entry["error_type"] == "TypeError"
    assert "node 'x' (returns-dict) returned dict, not a Payload" in entry["error_message"]
