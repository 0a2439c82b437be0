"""``python trace_worker.py start|resume DB SPANS RUN_ID``: one side of the SIGKILL trace test.

Spans are appended to the JSON-lines file SPANS as they end.  ``start`` begins a durable run
that waits for an answer, prints ``waiting`` and sleeps until it is killed; ``resume`` picks
the run up in a fresh process, answers it and prints the result.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from reflow import Context, Workflow, step
from reflow.durable import DurableRuntime
from reflow.events import HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent
from reflow.observability import instrument


class JsonLines(SpanExporter):
    def __init__(self, path: str) -> None:
        self.path = path

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with open(self.path, "a", encoding="utf-8") as out:
            for span in spans:
                record = {
                    "name": span.name,
                    "trace_id": f"{span.context.trace_id:032x}",
                    "span_id": f"{span.context.span_id:016x}",
                    "parent_id": f"{span.parent.span_id:016x}" if span.parent else None,
                    "attributes": dict(span.attributes or {}),
                }
                out.write(json.dumps(record) + "\n")
        return SpanExportResult.SUCCESS


class Ask(Workflow):
    @step
    async def ask(self, ev: StartEvent, ctx: Context) -> StopEvent:
        answer = await ctx.wait_for_event(
            HumanResponseEvent, waiter_event=InputRequiredEvent(prefix="go?")
        )
        return StopEvent(result=f"answered {answer.response}")


async def main(mode: str, db: str, spans: str, run_id: str) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(JsonLines(spans)))
    instrument(tracer_provider=provider, llama_index=False)
    runtime = DurableRuntime(db, release_idle_after=None)
    workflow = Ask(runtime=runtime, timeout=None)
    await runtime.launch()
    if mode == "start":
        handler = workflow.run(run_id=run_id)
        async for event in handler.stream_events():
            if isinstance(event, InputRequiredEvent):
                break
        print("waiting", flush=True)
        await asyncio.sleep(120)
        return
    handler = runtime.get_handler(run_id)
    await handler.send_event(HumanResponseEvent(response="yes"))
    print(await handler, flush=True)
    await runtime.destroy()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
