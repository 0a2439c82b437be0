"""llama-index-core's agent classes, run in memory on reflow through ``reflow.alias``."""

# No ``from __future__ import annotations``: llama-index-core finds a tool's ``ctx: Context``
# parameter by comparing the annotation object, which a string annotation is not.

from typing import Any

import pytest
from llama_index.core.agent.workflow import (
    AgentInput,
    AgentOutput,
    AgentStream,
    AgentWorkflow,
    CodeActAgent,
    FunctionAgent,
    ReActAgent,
    ToolCall,
    ToolCallResult,
)
from llama_index.core.llms import ChatMessage
from llama_index.core.workflow import (
    Context,
    HumanResponseEvent,
    InputRequiredEvent,
    WorkflowRuntimeError,
)
from pydantic import BaseModel
from tests.llama_index._llm import ScriptedLLM, Turn, call

import reflow
from reflow.events import Event, StopEvent

calls: list[tuple[str, Any]] = []


def add(a: int, b: int) -> int:
    """Add two integers."""
    calls.append(("add", (a, b)))
    return a + b


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    calls.append(("multiply", (a, b)))
    return a * b


async def approve(ctx: Context, action: str) -> str:
    """Ask a person to approve an action."""
    answer = await ctx.wait_for_event(
        HumanResponseEvent, waiter_event=InputRequiredEvent(prefix=f"approve {action}?")
    )
    return f"{action}: {answer.response}"


@pytest.fixture(autouse=True)
def clear_calls() -> None:
    calls.clear()


async def run_collecting(handler: Any) -> tuple[list[Event], Any]:
    events = [event async for event in handler.stream_events()]
    return events, await handler


def kinds(events: list[Event]) -> list[str]:
    return [type(event).__name__ for event in events if not isinstance(event, AgentStream)]


def test_agent_classes_are_reflow_workflows() -> None:
    import llama_index.core.workflow as li_workflow

    assert li_workflow.Workflow is reflow.Workflow
    assert li_workflow.Context is reflow.Context
    for agent_class in (FunctionAgent, ReActAgent, CodeActAgent, AgentWorkflow):
        assert issubclass(agent_class, reflow.Workflow)


async def test_function_agent_calls_tools_and_answers() -> None:
    llm = ScriptedLLM([call("add", a=2, b=3), call("multiply", a=5, b=4), Turn(text="It is 20.")])
    agent = FunctionAgent(tools=[add, multiply], llm=llm, streaming=False)
    events, result = await run_collecting(agent.run(user_msg="(2+3)*4?"))
    assert str(result) == "It is 20."
    assert calls == [("add", (2, 3)), ("multiply", (5, 4))]
    assert kinds(events) == [
        "AgentInput", "AgentOutput", "ToolCall", "ToolCallResult",
        "AgentInput", "AgentOutput", "ToolCall", "ToolCallResult",
        "AgentInput", "AgentOutput", "StopEvent",
    ]  # fmt: skip
    results = [event for event in events if isinstance(event, ToolCallResult)]
    assert [r.tool_output.content for r in results] == ["5", "20"]
    # The tool results reached the LLM on the next call.
    assert llm.asked[2][-1].role == "tool"
    assert llm.asked[2][-1].content == "20"


async def test_streaming_text_and_thinking_deltas() -> None:
    turn = Turn(text="Hello there", chunks=["Hel", "lo ", "there"], thinking=["hmm", " ok"])
    agent = FunctionAgent(tools=[add], llm=ScriptedLLM([turn]), streaming=True)
    events, result = await run_collecting(agent.run(user_msg="hi"))
    streamed = [event for event in events if isinstance(event, AgentStream)]
    assert [s.delta for s in streamed if s.delta] == ["Hel", "lo ", "there"]
    assert [s.thinking_delta for s in streamed if s.thinking_delta] == ["hmm", " ok"]
    assert streamed[-1].response == "Hello there"
    assert str(result) == "Hello there"


async def test_react_agent_parses_actions_and_retries_on_bad_output() -> None:
    llm = ScriptedLLM(
        [
            Turn(text="Thought: I will add.\nAction: add\nAction Input: {broken"),
            Turn(text='Thought: I will add.\nAction: add\nAction Input: {"a": 20, "b": 22}'),
            Turn(text="Thought: I can answer without using any more tools.\nAnswer: 42"),
        ]
    )
    agent = ReActAgent(tools=[add], llm=llm, streaming=False)
    events, result = await run_collecting(agent.run(user_msg="20+22?"))
    assert str(result) == "42"
    assert calls == [("add", (20, 22))]
    outputs = [event for event in events if isinstance(event, AgentOutput)]
    assert outputs[0].retry_messages, "the unparsable answer was retried"
    assert "Error while parsing the output" in str(outputs[0].retry_messages[-1].content)
    # The retry told the LLM what was wrong.
    assert "Error while parsing" in str(llm.asked[1][-1].content)


async def test_react_agent_streams() -> None:
    answer = "Thought: I can answer without using any more tools.\nAnswer: hi"
    llm = ScriptedLLM([Turn(text=answer, chunks=[answer[:20], answer[20:]])])
    agent = ReActAgent(tools=[add], llm=llm, streaming=True)
    events, result = await run_collecting(agent.run(user_msg="say hi"))
    assert str(result) == "hi"
    assert [e.delta for e in events if isinstance(e, AgentStream)] == [answer[:20], answer[20:]]


async def test_code_act_agent_executes_code_through_its_tool() -> None:
    executed: list[str] = []

    async def execute(code: str) -> dict[str, Any]:
        executed.append(code)
        namespace: dict[str, Any] = {"add": add}
        exec(code, namespace)  # the scripted LLM's code, in a test
        return {"output": str(namespace["result"])}

    llm = ScriptedLLM(
        [
            Turn(text="Let me compute.\n<execute>\nresult = add(1, 2)\n</execute>"),
            Turn(text="The result is 3."),
        ]
    )
    agent = CodeActAgent(code_execute_fn=execute, tools=[add], llm=llm, streaming=False)
    events, result = await run_collecting(agent.run(user_msg="1+2?"))
    assert executed == ["result = add(1, 2)"]
    assert calls == [("add", (1, 2))]
    assert str(result) == "The result is 3."
    tool_results = [e for e in events if isinstance(e, ToolCallResult)]
    assert [r.tool_name for r in tool_results] == ["execute"]


class Sum(BaseModel):
    total: int


async def test_structured_output_from_a_function() -> None:
    seen: list[list[ChatMessage]] = []

    # Despite its annotation, llama-index-core stores what the function returns as the
    # output's ``structured_response`` dict, so it must return a dict (on the peer too).
    def structure(messages: list[ChatMessage]) -> dict[str, Any]:
        seen.append(messages)
        return Sum(total=int(str(messages[-1].content).split()[-1])).model_dump()

    llm = ScriptedLLM([call("add", a=1, b=1), Turn(text="The total is 2")])
    agent = FunctionAgent(tools=[add], llm=llm, structured_output_fn=structure, streaming=False)
    result = await agent.run(user_msg="1+1")
    assert result.structured_response == {"total": 2}
    assert result.get_pydantic_model(Sum) == Sum(total=2)
    assert seen and seen[0][-1].content == "The total is 2"


async def test_max_iterations_force_raises() -> None:
    llm = ScriptedLLM([call("add", a=1, b=1) for _ in range(5)])
    agent = FunctionAgent(tools=[add], llm=llm, streaming=False)
    with pytest.raises(WorkflowRuntimeError, match="Max iterations of 2 reached"):
        await agent.run(user_msg="loop", max_iterations=2)


async def test_max_iterations_generate_asks_for_a_final_answer() -> None:
    llm = ScriptedLLM([call("add", a=1, b=1), call("add", a=1, b=1), Turn(text="Stopping: 2")])
    agent = FunctionAgent(tools=[add], llm=llm, streaming=False)
    result = await agent.run(user_msg="loop", max_iterations=2, early_stopping_method="generate")
    assert str(result) == "Stopping: 2"
    assert any("maximum number of iterations" in str(m.content) for m in llm.asked[-1])


async def test_agent_workflow_hands_off_between_agents() -> None:
    planner_llm = ScriptedLLM([call("handoff", to_agent="calculator", reason="math")])
    calculator_llm = ScriptedLLM([call("add", a=4, b=5), Turn(text="9, from the calculator")])
    planner = FunctionAgent(
        name="planner",
        description="Plans",
        llm=planner_llm,
        tools=[],
        can_handoff_to=["calculator"],
        streaming=False,
    )
    calculator = FunctionAgent(
        name="calculator", description="Adds", llm=calculator_llm, tools=[add], streaming=False
    )
    workflow = AgentWorkflow(agents=[planner, calculator], root_agent="planner")
    events, result = await run_collecting(workflow.run(user_msg="4+5?"))
    assert str(result) == "9, from the calculator"
    assert result.current_agent_name == "calculator"
    agents_in_order = [e.current_agent_name for e in events if isinstance(e, AgentInput)]
    assert agents_in_order == ["planner", "calculator", "calculator"]
    handoffs = [e for e in events if isinstance(e, ToolCall) and e.tool_name == "handoff"]
    assert handoffs and handoffs[0].tool_kwargs == {"to_agent": "calculator", "reason": "math"}


async def test_human_in_the_loop_tool_waits_for_the_answer() -> None:
    llm = ScriptedLLM([call("approve", action="deploy"), Turn(text="Approved.")])
    workflow = AgentWorkflow(agents=[FunctionAgent(llm=llm, tools=[approve], streaming=False)])
    handler = workflow.run(user_msg="deploy it")
    asked: list[str] = []
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            asked.append(event.prefix)
            handler.ctx.send_event(HumanResponseEvent(response="yes"))
    result = await handler
    assert asked == ["approve deploy?"]
    assert str(result) == "Approved."
    assert llm.asked[1][-1].content == "deploy: yes"


async def test_context_round_trip_keeps_the_conversation() -> None:
    llm = ScriptedLLM([Turn(text="Hi Ada."), Turn(text="You are Ada.")])
    agent = FunctionAgent(tools=[add], llm=llm, streaming=False)
    ctx = Context(agent)
    await agent.run(user_msg="I am Ada", ctx=ctx)
    restored = Context.from_dict(
        agent,
        ctx.to_dict(serializer=reflow.alias.AgentSerializer()),
        serializer=reflow.alias.AgentSerializer(),
    )
    result = await agent.run(user_msg="Who am I?", ctx=restored)
    assert str(result) == "You are Ada."
    history = [(m.role.value, m.content) for m in llm.asked[1]]
    assert ("user", "I am Ada") in history and ("assistant", "Hi Ada.") in history


async def test_plain_json_round_trip_drops_memory_like_the_peer() -> None:
    llm = ScriptedLLM([Turn(text="Hi Ada."), Turn(text="Who?")])
    agent = FunctionAgent(tools=[add], llm=llm, streaming=False)
    ctx = Context(agent)
    await agent.run(user_msg="I am Ada", ctx=ctx)
    with pytest.warns(Warning, match="memory"):
        data = ctx.to_dict()
    restored = Context.from_dict(agent, data)
    await agent.run(user_msg="Who am I?", ctx=restored)
    assert ("user", "I am Ada") not in [(m.role.value, m.content) for m in llm.asked[1]]


async def test_waiting_run_round_trips_and_resumes() -> None:
    llm = ScriptedLLM([call("approve", action="ship"), Turn(text="Shipped.")])
    workflow = AgentWorkflow(agents=[FunctionAgent(llm=llm, tools=[approve], streaming=False)])
    handler = workflow.run(user_msg="ship it")
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            break
    serializer = reflow.alias.AgentSerializer()
    data = handler.ctx.to_dict(serializer=serializer)
    await handler.cancel_run()
    restored = Context.from_dict(workflow, data, serializer=serializer)
    resumed = workflow.run(ctx=restored)
    # The restored run is already waiting: the answer goes straight in.
    resumed.ctx.send_event(HumanResponseEvent(response="ok"))
    result = await resumed
    assert str(result) == "Shipped."
    assert llm.asked[-1][-1].content == "ship: ok"


async def test_model_copy_and_dump_show_no_engine_internals() -> None:
    agent = FunctionAgent(name="calc", tools=[add], llm=ScriptedLLM([Turn(text="a")]))
    dumped = agent.model_dump()
    assert "num_concurrent_runs" not in dumped
    assert not [key for key in dumped if key.startswith("_")]
    copy = agent.model_copy(update={"name": "calc2"})
    assert copy.name == "calc2" and agent.name == "calc"
    result = await copy.run(user_msg="x")
    assert isinstance(result, AgentOutput) and str(result) == "a"
    assert result.current_agent_name == "calc2"  # the copy's own steps ran
    assert isinstance(StopEvent(), Event)
