"""A process running one durable agent conversation; the crash test kills and restarts it.

    python durable_agent_worker.py DB MARKERS MODE

An ``AgentWorkflow`` (one ``FunctionAgent``, a scripted LLM) runs ``RUN_ID`` on a
``DurableRuntime`` journaling into DB. Its tool ``slow_lookup`` appends a line to MARKERS when
it starts; in mode ``hang`` it then never returns (the test SIGKILLs the process there), in mode
``finish`` it answers. A run the journal already holds is resumed, not started again: the LLM
turn that asked for the tool was journaled, so the script of a ``finish`` process starts at the
final answer. Prints one JSON line: the result and the messages the LLM was finally asked with.
"""

from __future__ import annotations

import asyncio
import json
import sys

import reflow.alias

reflow.alias.install()

from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent  # noqa: E402

from reflow.durable import DurableRuntime  # noqa: E402

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from _llm import ScriptedLLM, Turn, call  # noqa: E402

RUN_ID = "agent-crash-1"


async def main(db: str, markers: str, mode: str) -> None:
    async def slow_lookup(city: str) -> str:
        """Look up a city's population."""
        with open(markers, "a", encoding="utf-8") as out:
            out.write(f"{mode}\n")
        if mode == "hang":
            await asyncio.Event().wait()
        return f"{city} has 2.1 million people"

    turns = (
        [call("slow_lookup", city="Paris")]
        if mode == "hang"
        else [Turn(text="Paris has 2.1 million people.")]
    )
    llm = ScriptedLLM(turns)
    runtime = DurableRuntime(db, poll_interval=0.02)
    agent = FunctionAgent(name="geo", llm=llm, tools=[slow_lookup], streaming=False)
    workflow = AgentWorkflow(
        agents=[agent],
        runtime=runtime,
        serializer=reflow.alias.AgentSerializer(),
        workflow_name="llama-geo",
        timeout=None,
    )
    await runtime.launch()
    try:
        result = await workflow.run(run_id=RUN_ID, user_msg="How many people live in Paris?")
    finally:
        await runtime.destroy()
    asked = [[m.role.value, m.content] for m in llm.asked[-1]] if llm.asked else []
    print(json.dumps({"result": str(result), "asked": asked}))


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
