"""Agents on ``DurableRuntime``; one killed with SIGKILL inside a tool call resumes elsewhere.

The first process runs until the agent's tool has started, and dies there (SIGKILL). A new
process resumes the run from the journal: the LLM turn that chose the tool is not asked again,
the interrupted tool call runs again (at least once), and the final LLM call sees the whole
conversation: the user's question and the assistant's tool call restored from the journaled
chat memory (kept as JSON by ``reflow.alias.AgentSerializer``), then the tool's answer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from llama_index.core.agent.workflow import AgentStream, AgentWorkflow, FunctionAgent
from llama_index.core.workflow import HumanResponseEvent, InputRequiredEvent
from tests.llama_index._llm import ScriptedLLM, Turn, call
from tests.llama_index.test_agents import approve

import reflow.alias
from reflow.durable import DurableRuntime

WORKER = Path(__file__).with_name("durable_agent_worker.py")
DEADLINE_SECONDS = 60.0


def start(db: Path, markers: Path, mode: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "REFLOW_ALIAS_WORKFLOWS"}
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(db), str(markers), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def wait_for_line(markers: Path, worker: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while time.monotonic() < deadline:
        if markers.exists() and markers.read_text().strip():
            return
        if worker.poll() is not None:
            raise AssertionError(f"the worker exited early: {worker.communicate()[1][-2000:]}")
        time.sleep(0.02)
    raise AssertionError("the tool never started")


def test_agent_resumes_after_sigkill_in_a_tool_call(tmp_path: Path) -> None:
    db, markers = tmp_path / "runs.db", tmp_path / "markers.txt"
    first = start(db, markers, "hang")
    try:
        wait_for_line(markers, first)
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL

    second = start(db, markers, "finish")
    out, err = second.communicate(timeout=DEADLINE_SECONDS)
    assert second.returncode == 0, err[-3000:]
    record = json.loads(out.splitlines()[-1])
    assert record["result"] == "Paris has 2.1 million people."
    assert markers.read_text().split() == ["hang", "finish"]
    roles = [role for role, _ in record["asked"]]
    contents = [content for _, content in record["asked"]]
    assert "How many people live in Paris?" in contents
    assert roles[-2:] == ["assistant", "tool"], record["asked"]
    assert contents[-1] == "Paris has 2.1 million people"


async def test_agent_workflow_with_handoff_streaming_and_a_person_on_durable(
    tmp_path: Path,
) -> None:
    runtime = DurableRuntime(str(tmp_path / "runs.db"), poll_interval=0.02)
    triage = FunctionAgent(
        name="triage",
        description="Routes requests",
        llm=ScriptedLLM([call("handoff", to_agent="ops", reason="deploys")]),
        tools=[],
        can_handoff_to=["ops"],
        streaming=False,
    )
    final = "Deployed after approval."
    ops = FunctionAgent(
        name="ops",
        description="Deploys",
        llm=ScriptedLLM(
            [
                call("approve", action="deploy"),
                Turn(text=final, chunks=["Deployed ", "after approval."]),
            ]
        ),
        tools=[approve],
        streaming=True,
    )
    workflow = AgentWorkflow(
        agents=[triage, ops],
        root_agent="triage",
        runtime=runtime,
        serializer=reflow.alias.AgentSerializer(),
        timeout=60,
    )
    await runtime.launch()
    try:
        handler = workflow.run(run_id="deploy-1", user_msg="deploy please")
        deltas: list[str] = []
        async for event in handler.stream_events():
            if isinstance(event, InputRequiredEvent):
                await handler.send_event(HumanResponseEvent(response="approved"))
            elif isinstance(event, AgentStream) and event.delta:
                deltas.append(event.delta)
        result = await handler
    finally:
        await runtime.destroy()
    assert str(result) == final
    assert result.current_agent_name == "ops"
    assert deltas[-2:] == ["Deployed ", "after approval."]
