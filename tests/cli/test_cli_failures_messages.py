"""Failures you can see and messages that point at the code (issue 8, problems 7 and 8)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cli_support import Invoke
from process_support import reflow, sample

from reflow import Context, Workflow, step
from reflow._steps.notes import notes_of
from reflow.errors import WorkflowConfigurationError, WorkflowValidationError
from reflow.events import StartEvent, StepAttemptFailed, StopEvent


def test_every_failed_attempt_is_shown_and_journaled(tmp_path: Path) -> None:
    db = str(tmp_path / "runs.db")
    ran = reflow("run", sample("Retried"), "--db", db, "--run-id", "r-1")
    assert ran.returncode == 1
    for attempt in (1, 2):
        assert (
            f"✗ fetch attempt {attempt}/3 raised ConnectionError: the server said no; "
            "retrying in 0.05s" in ran.stdout
        )
    assert "✗ fetch attempt 3/3 raised ConnectionError: the server said no; no retry left" in (
        ran.stdout
    )
    events = reflow("runs", "events", "r-1", "--db", db, "--output", "json").stdout.splitlines()
    failed = [json.loads(line) for line in events if '"StepAttemptFailed"' in line]
    assert [item["event"]["attempt"] for item in failed] == [1, 2, 3]
    assert [item["event"]["retry_in"] for item in failed] == [0.05, 0.05, None]
    assert failed[0]["event"]["exception_type"] == "ConnectionError"


async def test_the_in_memory_stream_has_the_attempts_too() -> None:
    class Once(Workflow):
        @step
        async def boom(self, ev: StartEvent) -> StopEvent:
            raise KeyError("missing")

    handler = Once(timeout=5).run()
    seen = [e async for e in handler.stream_events(expose_internal=True)]
    with pytest.raises(KeyError):
        await handler
    [failed] = [e for e in seen if isinstance(e, StepAttemptFailed)]
    assert (failed.step_name, failed.attempt, failed.retry_in) == ("boom", 1, None)
    # Not part of the peer's default stream: it is an internal notice.
    assert StepAttemptFailed.__mro__[1].__name__ == "InternalDispatchEvent"


@pytest.mark.parametrize(
    ("annotation", "detail"),
    [("str", "'ev' is annotated str, not an Event"), ("", "the step has no parameter for it")],
)
def test_a_step_without_an_event_parameter_names_class_step_parameter_and_line(
    annotation: str, detail: str
) -> None:
    parameter = f", ev: {annotation}" if annotation else ""
    namespace: dict[str, object] = {}
    source = (
        "from reflow import Workflow, step, Context\n"
        "from reflow.events import StopEvent\n"
        "class Broken(Workflow):\n"
        "    @step\n"
        f"    async def work(self{parameter}, ctx: Context) -> StopEvent:\n"
        "        return StopEvent()\n"
    )
    with pytest.raises(WorkflowValidationError) as caught:
        exec(compile(source, "broken_flow.py", "exec"), namespace)
    # The message stays the peer's word for word; where and why are in a note.
    assert str(caught.value) == (
        "Step signature must have at least one parameter annotated as type Event"
    )
    assert notes_of(caught.value) == [f"step Broken.work at broken_flow.py:4: {detail}"]


def test_a_non_event_return_is_named() -> None:
    class ReturnsInt(Workflow):
        @step
        async def work(self, ev: StartEvent, ctx: Context) -> int:  # type: ignore[type-var]
            return 1

    with pytest.raises(WorkflowConfigurationError) as caught:
        ReturnsInt().validate()
    assert notes_of(caught.value) == ["step 'work' is annotated -> int, which is not an Event"]


def test_missing_start_fields_are_listed(invoke: Invoke) -> None:
    result = invoke(["run", sample("Gate"), "--memory"])
    assert result.exit_code == 2
    assert "with the keyword arguments: {} (gate: Field required)" in result.stderr


def test_the_command_line_shows_where_a_step_is_broken(tmp_path: Path, invoke: Invoke) -> None:
    flow = tmp_path / "broken_cli_flow.py"
    flow.write_text(
        "from reflow import Workflow, step\n"
        "from reflow.events import StopEvent\n"
        "class Broken(Workflow):\n"
        "    @step\n"
        "    async def work(self, ev: str) -> StopEvent:\n"
        "        return StopEvent()\n"
    )
    result = invoke(["validate", f"{flow}:Broken"])
    assert result.exit_code == 2
    assert f"step Broken.work at {flow}:4: 'ev' is annotated str, not an Event" in result.stderr


def test_validate_lists_the_inputs(invoke: Invoke) -> None:
    result = invoke(["validate", sample("Hello")])
    assert "--arg name=...  str, default 'world'" in result.stdout
    assert "--arg times=...  int, default 1" in result.stdout
    assert "--arg gate=...  str, required" in invoke(["validate", sample("Gate")]).stdout


def test_run_outside_a_loop_says_what_to_write() -> None:
    class Tiny(Workflow):
        @step
        async def work(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=1)

    with pytest.raises(RuntimeError, match=r"needs a running event loop.*asyncio\.run\(main\(\)\)"):
        asyncio.run(Tiny().run())  # type: ignore[arg-type]
