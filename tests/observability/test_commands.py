"""Commands and traces: a span per command under its step attempt, ``TRACEPARENT`` in the
command's environment while tracing, nothing at all (not even an import) while not."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import StatusCode
from tests.observability.conftest import Telemetry, modules_loaded_by
from tests.runners._support import require

from reflow import Workflow, step
from reflow.events import StartEvent, StopEvent
from reflow.observability import capture_spans
from reflow.runners import run_plugin, run_shell
from reflow.runners._backends import probe

PRINT_TRACEPARENT = 'echo "tp=${TRACEPARENT:-none}"'


class Shell(Workflow):
    """Runs the start event's ``commands`` one after another; returns their stdouts."""

    @step
    async def commands(self, ev: StartEvent) -> StopEvent:
        outputs = []
        for command in ev.get("commands"):
            result = await run_shell(command, timeout=ev.get("timeout"), grace=0.1)
            outputs.append(result.stdout)
        return StopEvent(result=outputs)


def traceparent_of(span: ReadableSpan) -> str:
    """The W3C traceparent naming ``span`` (what a command should get)."""
    context = span.get_span_context()
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def command_spans(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return [span for span in spans if span.name.endswith(" command")]


async def test_each_command_is_a_span_under_its_attempt_and_gets_it_as_traceparent(
    telemetry: Telemetry,
) -> None:
    out = await Shell().run(commands=[PRINT_TRACEPARENT, "exit 0"])
    first, second = command_spans(telemetry.spans())
    [attempt] = telemetry.named("step commands")
    for span in (first, second):
        assert span.parent is not None and span.parent.span_id == attempt.context.span_id
        assert span.context.trace_id == attempt.context.trace_id
    assert out[0] == f"tp={traceparent_of(first)}\n"
    attributes = dict(first.attributes or {})
    assert attributes["reflow.command.line"] == PRINT_TRACEPARENT
    assert attributes["reflow.command.kind"] == "shell"
    assert attributes["reflow.command.status"] == "success"
    assert attributes["reflow.command.exit_code"] == 0
    duration = attributes["reflow.command.duration"]
    assert isinstance(duration, float) and duration > 0
    assert attributes["reflow.step.name"] == "commands" and attributes["reflow.step.attempt"] == 1
    assert first.status.status_code is StatusCode.UNSET
    assert first.name == "shell command"


async def test_failed_and_timed_out_commands_are_error_spans(telemetry: Telemetry) -> None:
    await Shell().run(commands=["echo nope >&2; exit 3", "sleep 30"], timeout=0.3)
    failed, timed_out = command_spans(telemetry.spans())
    assert failed.status.status_code is StatusCode.ERROR
    assert "exited with code 3: nope" in (failed.status.description or "")
    failed_attributes = dict(failed.attributes or {})
    assert failed_attributes["reflow.command.status"] == "failed"
    assert failed_attributes["reflow.command.exit_code"] == 3
    assert failed_attributes["error.type"] == "STEP_EXECUTION_FAILED"
    assert timed_out.status.status_code is StatusCode.ERROR
    timed_attributes = dict(timed_out.attributes or {})
    assert timed_attributes["reflow.command.status"] == "timed_out"
    assert timed_attributes["error.type"] == "STEP_TIMEOUT"


async def test_capture_spans_traces_commands_too() -> None:
    with capture_spans() as capture:
        out = await Shell().run(commands=[PRINT_TRACEPARENT])
    [span] = command_spans(capture.spans())
    assert out == [f"tp={traceparent_of(span)}\n"]
    assert "shell command" in capture.render()


async def test_without_tracing_a_command_gets_no_traceparent(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TRACEPARENT", raising=False)
    assert await Shell().run(commands=[PRINT_TRACEPARENT]) == ["tp=none\n"]
    result = await run_shell(PRINT_TRACEPARENT)  # outside any run and any span
    assert result.stdout == "tp=none\n"


async def test_a_command_outside_a_run_continues_the_current_span(telemetry: Telemetry) -> None:
    tracer = telemetry.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("request") as parent:
        result = await run_shell(PRINT_TRACEPARENT)
    # No traced run: its span goes to the global tracer (none here), so the command continues
    # the application's own span.
    assert result.stdout == f"tp={traceparent_of(parent)}\n"  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", ["bwrap", "landlock"])
async def test_sandboxed_plugin_commands_get_a_span_and_the_traceparent(
    backend: str, telemetry: Telemetry
) -> None:
    require(getattr(probe(), backend), f"the {backend} sandbox backend")

    class Plugin(Workflow):
        @step
        async def plugin(self, ev: StartEvent) -> StopEvent:
            run = await run_plugin(
                "builtin:shell", input={"command": PRINT_TRACEPARENT}, sandbox=backend
            )
            return StopEvent(result=run.result.stdout)

    out = await Plugin().run()
    [span] = command_spans(telemetry.spans())
    [attempt] = telemetry.named("step plugin")
    assert span.name == "plugin command"
    assert span.parent is not None and span.parent.span_id == attempt.context.span_id
    assert out == f"tp={traceparent_of(span)}\n"
    assert dict(span.attributes or {})["reflow.command.status"] == "success"


def test_importing_the_runners_loads_no_opentelemetry() -> None:
    code = (
        "import reflow.runners, reflow.flows\n"
        "from reflow.observability import start_command_span\n"
        "assert start_command_span('true') is None"
    )
    assert modules_loaded_by(code) == []


async def test_a_flow_shell_node_command_is_a_span_under_the_node_step() -> None:
    from reflow.flows import FlowEngine, FlowServices, load_flow

    doc = {
        "nodes": [
            {"id": "1", "type": "counter", "data": {"form": {"min_value": 1, "max_value": 1}}},
            {"id": "x", "type": "shell", "data": {"form": {"command": PRINT_TRACEPARENT}}},
        ],
        "edges": [{"source": "1", "target": "x"}],
    }
    engine = FlowEngine(
        load_flow(doc, name="traced"), FlowServices(prefix="unused:"), keep_outputs=True
    )
    with capture_spans() as capture:
        stats = await engine.run_production()
    spans = capture.spans()
    [command] = command_spans(spans)
    [parent] = [s for s in spans if s.context.span_id == command.parent.span_id]  # type: ignore[union-attr]
    assert parent.name.startswith("step ") and "x" in parent.name.lower()
    assert stats["1"].outputs[0]["x"]["shell"]["stdout"] == f"tp={traceparent_of(command)}\n"
