"""A traced cluster process: ``python dbos_trace_worker.py DSN#SCHEMA``.

It instruments reflow with an in-memory span exporter, launches a ``DBOSRuntime`` serving
``Traced``'s queue, prints ``ready``, and once it has executed one ``double`` step prints the
spans it finished as one JSON line and exits (at most 30 s).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from reflow import Workflow, step
from reflow.dbos import DBOSRuntime
from reflow.events import StartEvent, StopEvent
from reflow.observability import instrument, uninstrument


class Number(StartEvent):
    n: int


class Traced(Workflow):
    @step
    async def double(self, ev: Number) -> StopEvent:  # no Context: runs on any process
        return StopEvent(result={"value": ev.n * 2, "pid": os.getpid()})


class Broken(Workflow):
    @step
    async def explode(self, ev: Number) -> StopEvent:  # no Context: runs through its queue
        raise ValueError(f"cannot take {ev.n}")


async def serve(db: str) -> None:
    dsn, schema = db.rsplit("#", 1)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument(tracer_provider=provider, llama_index=False)
    runtime = DBOSRuntime(dsn, schema=schema, poll_interval=0.05)
    # By its module's name, not __main__'s: the workflow's name must match the test's.
    from dbos_trace_worker import Traced

    Traced(runtime=runtime, timeout=None)
    await runtime.launch()
    print("ready", flush=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not exporter.get_finished_spans():
        await asyncio.sleep(0.05)
    spans = [
        {
            "name": span.name,
            "trace_id": span.context.trace_id,
            "span_id": span.context.span_id,
            "parent_id": None if span.parent is None else span.parent.span_id,
            "attributes": dict(span.attributes or {}),
        }
        for span in exporter.get_finished_spans()
    ]
    await asyncio.sleep(0.3)  # let DBOS record the execution's result before leaving
    print(json.dumps(spans), flush=True)
    await runtime.destroy()
    uninstrument()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1]))
