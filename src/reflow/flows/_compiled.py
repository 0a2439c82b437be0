"""``CompiledLoop``: the workflow class of one loop, and running a for-each body with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reflow.flows._events import FlowStart, Observer
from reflow.flows._execution import BoundNode
from reflow.flows._nodes import Payload
from reflow.runtime.types.plugin import Runtime
from reflow.workflow import Workflow


@dataclass
class CompiledLoop:
    """The workflow class of one loop plus what the loop driver needs to know about it."""

    workflow_class: type[Workflow]
    entry: str
    members: list[str]
    step_names: dict[str, str]
    observers: list[Observer] = field(default_factory=list)

    def workflow(self, timeout: float | None = None, runtime: Runtime | None = None) -> Workflow:
        return self.workflow_class(timeout=timeout, runtime=runtime)


async def run_loop_node(bound: BoundNode, body: CompiledLoop, payload: Payload) -> Payload:
    """Run a for-each node: its body workflow once per item, then the results."""
    items = await bound.items(payload)
    workflow = body.workflow()
    results: list[Any] = []
    state: dict[str, Any] = {"index": 0, "item": None}
    for index, item in enumerate(items):
        state = {"index": index, "item": item}
        data = {
            **payload.data,
            "forEachNode": {"input": items, "results": list(results), "state": state},
        }
        start = FlowStart(payload={"data": data, "metadata": payload.metadata, "id": payload.id})
        result = await workflow.run(start_event=start)
        outputs = list(result["outputs"].values())
        results.append(outputs[0] if len(outputs) == 1 else outputs)
    data = {
        **payload.data,
        "loop_results": results,
        "forEachNode": {"input": items, "results": results, "state": state},
    }
    return Payload(data, payload.metadata, payload.id)
