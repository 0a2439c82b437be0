"""``agent``: llama-index-core's ``AgentWorkflow`` answering N questions, three tool calls each.

One ``FunctionAgent`` with three tools and a scripted LLM (no network, no model): for each
question the LLM asks for ``lookup``, ``convert`` and ``format`` one after the other, then
answers, so a question is four agent steps (LLM turns) and three tool calls. The LLM answers at
once, so every millisecond measured is llama-index-core plus the engine under it. reflow runs
llama-index-core through ``reflow.alias``; the peer runs it as shipped. Both need
llama-index-core installed next to the engine.
"""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Sequence
from typing import Any

from benchmarks._common import BenchmarkSetupError, emit, percentile, size_parser
from benchmarks._impl import IMPL, VERSION

CASE = "agent"
TOOLS = ("lookup", "convert", "render")
AGENT_STEPS_PER_RUN = len(TOOLS) + 1
WARMUP_RUNS = 3


def _load_llama_index() -> tuple[Any, Any, Any]:
    """The agent module, the mock LLM module and the LLM types module (engine chosen first)."""
    if IMPL == "reflow":
        import reflow.alias

        reflow.alias.install()
    try:
        agents = importlib.import_module("llama_index.core.agent.workflow")
    except ImportError as exc:
        raise BenchmarkSetupError(
            f"the agent case needs llama-index-core next to {IMPL}: {exc}"
        ) from exc
    mock = importlib.import_module("llama_index.core.llms.mock")
    types = importlib.import_module("llama_index.core.base.llms.types")
    return agents, mock, types


def lookup(city: str) -> str:
    """Look up a city's temperature in Celsius."""
    return "21"


def convert(celsius: str) -> str:
    """Convert Celsius to Fahrenheit."""
    return str(float(celsius) * 9 / 5 + 32)


def render(fahrenheit: str) -> str:
    """Format a temperature for people."""
    return f"{fahrenheit} F"


def build_agent() -> Any:
    agents, mock, types = _load_llama_index()

    def respond(messages: Sequence[Any], **kwargs: Any) -> Any:
        done = sum(1 for message in messages if message.role == types.MessageRole.TOOL)
        if done < len(TOOLS):
            block = types.ToolCallBlock(
                tool_call_id=f"call-{done}", tool_name=TOOLS[done], tool_kwargs=_args(done)
            )
            return types.ChatMessage(role=types.MessageRole.ASSISTANT, blocks=[block])
        return types.ChatMessage(role=types.MessageRole.ASSISTANT, content="It is 69.8 F.")

    llm = mock.MockFunctionCallingLLM(response_generator=respond)
    agent = agents.FunctionAgent(tools=[lookup, convert, render], llm=llm, streaming=False)
    return agents.AgentWorkflow(agents=[agent], timeout=None)


def _args(done: int) -> dict[str, str]:
    return [{"city": "Lyon"}, {"celsius": "21"}, {"fahrenheit": "69.8"}][done]


async def measure(n: int) -> dict[str, float]:
    """Answer ``n`` questions one after the other and time each run."""
    workflow = build_agent()
    for _ in range(WARMUP_RUNS):
        await workflow.run(user_msg="Weather in Lyon?")
    latencies: list[float] = []
    started = time.perf_counter()
    for _ in range(n):
        run_started = time.perf_counter()
        result = await workflow.run(user_msg="Weather in Lyon?")
        latencies.append(time.perf_counter() - run_started)
        if str(result) != "It is 69.8 F.":
            raise RuntimeError(f"agent: unexpected answer {result!s}")
    total = time.perf_counter() - started
    return {
        "runs_per_s": n / total,
        "p50_ms": percentile(latencies, 0.50) * 1000,
        "us_per_agent_step": total / (n * AGENT_STEPS_PER_RUN) * 1e6,
    }


def main(argv: Sequence[str] | None = None) -> None:
    args = size_parser(__doc__ or CASE, default_n=200).parse_args(argv)
    emit(CASE, IMPL, args.n, asyncio.run(measure(args.n)), version=VERSION)


if __name__ == "__main__":
    main()
