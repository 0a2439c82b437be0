"""An ``AgentWorkflow`` behind ``WorkflowServer`` on the SQLite store, driven by ``WorkflowClient``.

The agent streams its text as ``AgentStream`` deltas, calls a plain tool and a tool that waits
for a person (``ctx.wait_for_event``); the client starts the run, reads the deltas as events,
answers the question over HTTP and gets the final answer, all through a live uvicorn.
"""

# No ``from __future__ import annotations``: llama-index-core finds a tool's ``ctx: Context``
# parameter by comparing the annotation object.

import asyncio
import json
from pathlib import Path
from typing import Any

from llama_index.core.agent.workflow import AgentStream, AgentWorkflow, FunctionAgent
from llama_index.core.workflow import HumanResponseEvent, InputRequiredEvent
from tests.live_server import live_app
from tests.llama_index._llm import ScriptedLLM, Turn, call
from tests.llama_index.test_agents import add, approve

import reflow.alias
from reflow.client import WorkflowClient
from reflow.server import SqliteWorkflowStore, WorkflowServer


def served_agent(db: Path, llm: ScriptedLLM) -> WorkflowServer:
    agent = FunctionAgent(name="helper", llm=llm, tools=[add, approve], streaming=True)
    workflow = AgentWorkflow(
        agents=[agent], serializer=reflow.alias.AgentSerializer(), timeout=None
    )
    server = WorkflowServer(workflow_store=SqliteWorkflowStore(db))
    server.add_workflow("agent", workflow)
    return server


async def test_an_agent_workflow_served_streams_deltas_and_waits_for_a_person(
    tmp_path: Path,
) -> None:
    llm = ScriptedLLM(
        [
            Turn(calls=[("add", {"a": 2, "b": 3})], text="Adding", chunks=["Add", "ing"]),
            call("approve", action="deploy"),
            Turn(text="Deployed, sum 5.", chunks=["Deployed", ", sum 5."]),
        ]
    )
    server = served_agent(tmp_path / "runs.db", llm)
    async with live_app(server.app) as address:
        client = WorkflowClient(base_url=f"http://{address}")
        assert (await client.list_workflows()).workflows == ["agent"]
        handler = await client.run_workflow_nowait(
            "agent", start_event={"user_msg": "add 2 and 3, then deploy"}
        )
        seen: list[Any] = []
        asked: list[str] = []
        async for envelope in client.get_workflow_events(handler.handler_id):
            event = envelope.load_event()
            seen.append(event)
            if isinstance(event, InputRequiredEvent):
                asked.append(event.prefix)
                answer = HumanResponseEvent(response="yes")
                assert (await client.send_event(handler.handler_id, answer)).status == "sent"
        done = await client.get_handler(handler.handler_id)
    deltas = [e.delta for e in seen if isinstance(e, AgentStream) and e.delta]
    assert deltas == ["Add", "ing", "Deployed", ", sum 5."]
    assert asked == ["approve deploy?"]
    assert done.status == "completed"
    assert "Deployed, sum 5." in str(done.result)
    assert llm.asked[2][-1].content == "deploy: yes"  # the tool's answer reached the LLM
    kinds = {type(e).__name__ for e in seen}
    assert {"AgentInput", "ToolCall", "ToolCallResult", "AgentOutput"} <= kinds


async def test_answering_with_the_event_class_name_over_plain_http(tmp_path: Path) -> None:
    import httpx

    llm = ScriptedLLM([call("approve", action="ship"), Turn(text="Shipped.")])
    server = served_agent(tmp_path / "runs.db", llm)
    async with (
        live_app(server.app) as address,
        httpx.AsyncClient(base_url=f"http://{address}") as http,
    ):
        started = await http.post(
            "/workflows/agent/run-nowait", json={"kwargs": {"user_msg": "ship it"}}
        )
        handler_id = started.json()["handler_id"]
        stream = f"/events/{handler_id}?after_sequence=-1&sse=false"
        async with http.stream("GET", stream) as events:
            async for line in events.aiter_lines():
                if json.loads(line)["type"] == "InputRequiredEvent":
                    break  # the tool waits for its answer now
        event = {"type": "HumanResponseEvent", "value": {"response": "ok"}}
        sent = await http.post(f"/events/{handler_id}", json={"event": event})
        assert sent.json() == {"status": "sent"}
        unknown = await http.post(
            f"/events/{handler_id}", json={"event": {"type": "NoSuchEvent", "value": {}}}
        )
        assert unknown.status_code in (400, 409)
        for _ in range(500):
            answer = await http.get(f"/handlers/{handler_id}")
            if answer.status_code != 202:
                break
            await asyncio.sleep(0.02)
    assert answer.status_code == 200 and "Shipped." in str(answer.json()["result"])


async def test_a_waiting_agent_is_answered_by_the_next_server_with_its_memory(
    tmp_path: Path,
) -> None:
    db = tmp_path / "runs.db"
    first = served_agent(db, ScriptedLLM([call("approve", action="ship")]))
    async with live_app(first.app) as address:
        client = WorkflowClient(base_url=f"http://{address}")
        handler = await client.run_workflow_nowait("agent", start_event={"user_msg": "ship it"})
        async for envelope in client.get_workflow_events(handler.handler_id):
            if envelope.type == "InputRequiredEvent":
                break
    # The first server is gone; the run waits in the journal. A new server answers it.
    llm = ScriptedLLM([Turn(text="Shipped.")])
    second = served_agent(db, llm)
    async with live_app(second.app) as address:
        client = WorkflowClient(base_url=f"http://{address}")
        await client.send_event(handler.handler_id, HumanResponseEvent(response="go"))
        async for _ in client.get_workflow_events(handler.handler_id, after_sequence="now"):
            pass
        done = await client.get_handler(handler.handler_id)
    assert done.status == "completed" and "Shipped." in str(done.result)
    conversation = [(m.role.value, m.content) for m in llm.asked[0]]
    assert ("user", "ship it") in conversation  # restored from the journal
    assert conversation[-1] == ("tool", "ship: go")
