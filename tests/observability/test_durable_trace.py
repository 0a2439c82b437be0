"""A durable run killed with SIGKILL and resumed in another process stays in one trace."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

WORKER = Path(__file__).with_name("trace_worker.py")


def _spans(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _worker(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(WORKER.parent)}
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def test_a_run_resumed_after_sigkill_continues_its_trace(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.db")
    first_spans, second_spans = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    first = _worker("start", db, str(first_spans), "traced-1")
    try:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "waiting"
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    # The first process finished no span of the run: the run and its step were still open.
    assert not first_spans.exists() or "run Ask" not in first_spans.read_text()

    second = _worker("resume", db, str(second_spans), "traced-1")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    assert out.strip() == "answered yes"

    import sqlite3

    with sqlite3.connect(db) as connection:
        ((traceparent,),) = connection.execute(
            "SELECT traceparent FROM reflow_trace_context WHERE run_id = 'traced-1'"
        ).fetchall()
    _, trace_id, original_run_span, _ = traceparent.split("-")
    spans = _spans(second_spans)
    assert {span["trace_id"] for span in spans} == {trace_id}
    (run,) = [span for span in spans if span["name"] == "run Ask"]
    assert run["parent_id"] == original_run_span
    attributes = run["attributes"]
    assert isinstance(attributes, dict)
    assert attributes["reflow.run.resumed"] is True
    assert attributes["reflow.run.outcome"] == "completed"
    (ask,) = [span for span in spans if span["name"] == "step ask"]
    assert ask["parent_id"] == run["span_id"]


async def test_a_released_run_ends_its_span_and_its_resume_continues_the_trace(
    tmp_path: Path,
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from reflow.durable import DurableRuntime
    from reflow.events import HumanResponseEvent, InputRequiredEvent
    from reflow.observability import instrument, uninstrument

    from .trace_worker import Ask

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrument(tracer_provider=provider, llama_index=False)
    runtime = DurableRuntime(tmp_path / "runs.db", release_idle_after=0.0)
    try:
        workflow = Ask(runtime=runtime, timeout=None)
        await runtime.launch()
        handler = workflow.run(run_id="released-1")
        async for event in handler.stream_events():
            if isinstance(event, InputRequiredEvent):
                break
        for _ in range(200):  # the idle run leaves memory after its journal write
            if any(span.name == "run Ask" for span in exporter.get_finished_spans()):
                break
            await asyncio.sleep(0.01)
        await handler.send_event(HumanResponseEvent(response="later"))
        assert await handler == "answered later"
    finally:
        await runtime.destroy()
        uninstrument()
        provider.shutdown()
    first, second = sorted(
        (span for span in exporter.get_finished_spans() if span.name == "run Ask"),
        key=lambda span: span.start_time or 0,
    )
    assert dict(first.attributes or {})["reflow.run.outcome"] == "released"
    assert dict(second.attributes or {})["reflow.run.outcome"] == "completed"
    assert dict(second.attributes or {})["reflow.run.resumed"] is True
    assert second.parent is not None and second.parent.span_id == first.context.span_id
    assert {span.context.trace_id for span in exporter.get_finished_spans()} == {
        first.context.trace_id
    }
