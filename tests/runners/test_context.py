"""The step context inside real workflows: ids, logger, stream events, artifacts, shell steps."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated, Any

import pytest

from reflow import Workflow, step
from reflow.errors import WorkflowRuntimeError
from reflow.events import Event, StartEvent, StopEvent
from reflow.resource import Resource
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_fixed
from reflow.runners import (
    ArtifactPathError,
    ArtifactStore,
    CommandFailed,
    CommandResult,
    OutputLineEvent,
    Runners,
    ShellStepDone,
    StepContext,
    StepLogEvent,
    current_step_context,
    run_shell,
    shell_step,
)


async def _run(workflow: Workflow, **start: Any) -> tuple[Any, list[Event]]:
    handler = workflow.run(**start)
    seen = [event async for event in handler.stream_events()]
    return await handler, seen


def make_flow(runners: Runners) -> Workflow:
    class Flow(Workflow):
        @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(2)))
        async def work(
            self, ev: StartEvent, sc: Annotated[StepContext, Resource(runners.context)]
        ) -> StopEvent:
            if sc.attempt == 1:
                sc.log.warning("first try fails", reason="flaky")
                raise RuntimeError("flaky")
            sc.log.info("building", target="all")
            result = await sc.run_shell('echo "key=$REFLOW_IDEMPOTENCY_KEY"; echo oops >&2')
            return StopEvent(
                result={
                    "run_id": sc.run_id,
                    "step": sc.step,
                    "attempt": sc.attempt,
                    "key": sc.idempotency_key,
                    "trace": (sc.trace_id, sc.span_id),
                    "stdout": result.stdout,
                }
            )

    return Flow(timeout=30)


async def test_ids_logger_and_output_lines_reach_the_stream(tmp_path: Path) -> None:
    runners = Runners(artifacts_root=tmp_path)
    result, seen = await _run(make_flow(runners))
    assert result["step"] == "work" and result["attempt"] == 2
    assert result["key"].startswith(result["run_id"] + ":work:")
    assert result["stdout"] == f"key={result['key']}\n"
    assert len(result["trace"][0]) == 32 and len(result["trace"][1]) == 16
    logs = [e for e in seen if isinstance(e, StepLogEvent)]
    assert [(e.level, e.message, e.attempt) for e in logs] == [
        ("warning", "first try fails", 1),
        ("info", "building", 2),
    ]
    assert logs[0].fields == {"reason": "flaky"} and logs[1].run_id == result["run_id"]
    lines = [e for e in seen if isinstance(e, OutputLineEvent)]
    assert sorted((e.stream, e.number) for e in lines) == [("stderr", 2), ("stdout", 1)]
    assert all(e.step == "work" for e in lines)


@pytest.mark.parametrize("fmt", ["json", "kv"])
async def test_log_records_are_written_as_json_lines_or_key_values(
    tmp_path: Path, fmt: str, caplog: pytest.LogCaptureFixture
) -> None:
    runners = Runners(artifacts_root=tmp_path, log_format=fmt)  # type: ignore[arg-type]

    class Flow(Workflow):
        @step
        async def work(self, ev: StartEvent) -> StopEvent:
            current_step_context(runners).log.bind(component="c").info("hello world", n=3)
            return StopEvent(result=None)

    with caplog.at_level(logging.INFO, logger="reflow.runners.step"):
        await _run(Flow())
    [message] = [r.getMessage() for r in caplog.records if r.name == "reflow.runners.step"]
    if fmt == "json":
        record = json.loads(message)
        assert record["message"] == "hello world" and record["step"] == "work"
        assert record["component"] == "c" and record["n"] == 3 and record["attempt"] == 1
    else:
        assert 'message="hello world"' in message and "step=work" in message
        assert "component=c" in message and "n=3" in message


async def test_step_context_outside_a_step_is_refused() -> None:
    with pytest.raises(WorkflowRuntimeError, match="within a step"):
        current_step_context()
    with pytest.raises(WorkflowRuntimeError):
        _ = StepContext().run_id


async def test_artifacts_per_run_and_step(tmp_path: Path) -> None:
    runners = Runners(artifacts_root=tmp_path)

    class Produced(Event):
        pass

    class Flow(Workflow):
        @step
        async def make(self, ev: StartEvent) -> Produced:
            art = current_step_context(runners).artifacts
            art.put("report.txt", "hello")
            art.put("nested/data.bin", [b"ab", b"cd"])
            with art.open("stream.log", "w") as handle:
                handle.write("streamed")
            return Produced()

        @step
        async def use(self, ev: Produced) -> StopEvent:
            sc = current_step_context(runners)
            theirs = sc.artifacts_of("make")
            return StopEvent(
                result={
                    "listed": [(i.path, i.size) for i in theirs.list()],
                    "report": theirs.get("report.txt").decode(),
                    "mine": sc.artifacts.list(),
                    "run_id": sc.run_id,
                }
            )

    result, _ = await _run(Flow())
    assert result["listed"] == [("nested/data.bin", 4), ("report.txt", 5), ("stream.log", 8)]
    assert result["report"] == "hello" and result["mine"] == []
    assert (tmp_path / result["run_id"] / "make" / "report.txt").read_text() == "hello"


@pytest.mark.parametrize("bad", ["/etc/passwd", "../other/x", "a/../../x", "", "a/../../../x"])
def test_artifact_paths_escaping_the_root_are_refused(tmp_path: Path, bad: str) -> None:
    store = ArtifactStore(tmp_path, "run", "step")
    with pytest.raises(ArtifactPathError):
        store.put(bad, b"x")
    with pytest.raises(ArtifactPathError):
        store.get(bad)


def test_artifact_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "root", "run", "step")
    store.put("ok.txt", b"fine")
    (store.base / "link").symlink_to(tmp_path)
    with pytest.raises(ArtifactPathError, match="escapes"):
        store.get("link/elsewhere.txt")
    with pytest.raises(ArtifactPathError):
        ArtifactStore(tmp_path, "../x", "step")
    assert store.get("ok.txt") == b"fine"


def test_artifacts_default_next_to_the_durable_journal(tmp_path: Path) -> None:
    from reflow.durable import DurableRuntime

    (tmp_path / "journal").mkdir()
    runtime = DurableRuntime(str(tmp_path / "journal" / "runs.db"))
    assert Runners(runtime=runtime).artifacts_root == (tmp_path / "journal" / "artifacts")
    with runtime.registering():
        assert Runners().artifacts_root == (tmp_path / "journal" / "artifacts")


class Built(Event):
    result: CommandResult


async def test_declarative_shell_steps(tmp_path: Path) -> None:
    runners = Runners(env={"WHO": "world"}, artifacts_root=tmp_path)

    class Flow(Workflow):
        greet = shell_step("echo hello $WHO", runners=runners)
        build = shell_step(
            lambda ev: ["sh", "-c", f"echo built {ev.step}"],
            accepts=ShellStepDone,
            returns=Built,
            runners=runners,
        )

        @step
        async def finish(self, ev: Built) -> StopEvent:
            return StopEvent(result=ev.result.stdout)

    result, seen = await _run(Flow())
    assert result == "built greet\n"
    lines = [e.line for e in seen if isinstance(e, OutputLineEvent)]
    assert lines == ["hello world", "built greet"]


async def test_failing_shell_step_fails_the_run_with_the_code() -> None:
    class Flow(Workflow):
        broken = shell_step("echo bad >&2; exit 4", returns=StopEvent)

    with pytest.raises(CommandFailed, match="code 4: bad"):
        await Flow().run()


def test_shell_step_refuses_a_bad_command_at_declaration() -> None:
    from reflow.runners import InvalidCommand

    with pytest.raises(InvalidCommand, match="empty"):
        shell_step("  ")


async def test_run_shell_outside_any_step_sets_no_step_variables() -> None:
    result = await run_shell('echo "[$REFLOW_IDEMPOTENCY_KEY]"', inherit_env=False)
    assert result.stdout == "[]\n"


async def test_two_runners_in_one_workflow_keep_their_own_context(tmp_path: Path) -> None:
    one = Runners(env={"WHICH": "one"}, artifacts_root=tmp_path)
    two = Runners(env={"WHICH": "two"}, artifacts_root=tmp_path)

    class Flow(Workflow):
        @step
        async def work(
            self,
            ev: StartEvent,
            a: Annotated[StepContext, Resource(one.context)],
            b: Annotated[StepContext, Resource(two.context)],
        ) -> StopEvent:
            return StopEvent(result=(a.env["WHICH"], b.env["WHICH"]))

    result, _ = await _run(Flow())
    assert result == ("one", "two")


async def test_artifacts_are_listed_by_run_and_pruned_with_the_run(tmp_path: Path) -> None:
    from reflow.durable import DurableRuntime
    from reflow.runners import prune_artifacts, run_artifacts

    runtime = DurableRuntime(str(tmp_path / "runs.db"))
    runners = Runners(runtime=runtime)
    assert runners.artifacts_root == tmp_path / "artifacts"

    class Flow(Workflow):
        @step
        async def work(self, ev: StartEvent) -> StopEvent:
            current_step_context(runners).artifacts.put("out.txt", ev.text)
            return StopEvent(result=None)

    workflow = Flow(runtime=runtime)
    try:
        await runtime.launch()
        await workflow.run(run_id="old", text="a")
        listed = run_artifacts(runners.artifacts_root, "old")
        assert [(step, [i.path for i in infos]) for step, infos in listed.items()] == [
            ("work", ["out.txt"])
        ]
        assert await prune_artifacts(runners.artifacts_root, runtime) == []  # still journaled
        assert await runtime.prune(older_than=0) == 1
        await workflow.run(run_id="new", text="b")
        assert await prune_artifacts(runners.artifacts_root, runtime) == ["old"]
    finally:
        await runtime.destroy()
    assert run_artifacts(runners.artifacts_root, "old") == {}
    assert (runners.artifacts_root / "new" / "work" / "out.txt").read_text() == "b"
