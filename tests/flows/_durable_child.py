"""Child process of the durable resume test: start (or resume) one iteration of a flow."""

from __future__ import annotations

import asyncio
import json
import sys

from reflow.durable import DurableRuntime
from reflow.flows import FlowEngine, FlowStart, load_flow


def flow_doc(delay: float, first: int) -> dict[str, object]:
    # The resuming process counts from another number: a run started again from scratch would
    # show it, a resumed one keeps the journaled producer output.
    return {
        "nodes": [
            {
                "id": "p",
                "type": "counter",
                "data": {"form": {"min_value": first, "max_value": first}},
            },
            {
                "id": "a",
                "type": "data-transformer",
                "data": {"form": {"output_template": '"A"', "overwrite": False}},
            },
            {"id": "slow", "type": "static-delay-node", "data": {"form": {"interval": delay}}},
        ],
        "edges": [{"source": "p", "target": "a"}, {"source": "a", "target": "slow"}],
    }


async def main(path: str, mode: str, delay: float) -> None:
    runtime = DurableRuntime(path, lease_seconds=1.0)
    engine = FlowEngine(
        load_flow(flow_doc(delay, 0 if mode == "start" else 5), name="resumable"), runtime=runtime
    )
    workflow = engine.workflow()
    await runtime.launch()
    if mode == "start":
        handler = workflow.run(run_id="iteration-1", start_event=FlowStart())
        print("started", flush=True)
    else:
        handler = runtime.get_handler("iteration-1")
    print(json.dumps(await handler), flush=True)
    await runtime.destroy()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
