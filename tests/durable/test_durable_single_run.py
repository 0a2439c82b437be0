"""One run by id: ``get_run``, ``wait_for_run``, ``run_outcome`` and ``delete_run``."""

from __future__ import annotations

import pytest
from conftest import MakeRuntime
from durable_flows import Approval, Ask

from reflow import Workflow, step
from reflow.durable import UnknownRun
from reflow.errors import WorkflowCancelledByUser
from reflow.events import HumanResponseEvent, StartEvent, StopEvent


class Boom(Workflow):
    @step
    async def boom(self, ev: StartEvent) -> StopEvent:
        raise ValueError("the step broke")


async def test_get_run_and_outcome_of_a_finished_and_a_failed_run(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime()
    workflow = Approval(runtime=runtime, timeout=None)
    boom = Boom(runtime=runtime)
    handler = workflow.run(run_id="a", start_event=Ask(question="ok?"))
    info = await runtime.wait_for_run("a", timeout=5)
    assert info.run_id == "a" and info.status == "running"
    assert await runtime.run_outcome("a") is None
    await handler.send_event(HumanResponseEvent(response="yes"))
    await handler
    done = await runtime.get_run("a")
    assert done.status == "completed" and done.finished_at is not None
    outcome = await runtime.run_outcome("a")
    assert isinstance(outcome, StopEvent)
    with pytest.raises(ValueError):
        await boom.run(run_id="b")
    failed = await runtime.run_outcome("b")
    assert isinstance(failed, ValueError) and "the step broke" in str(failed)


async def test_delete_run_refuses_running_runs_and_unknown_ids(make_runtime: MakeRuntime) -> None:
    runtime = make_runtime()
    workflow = Approval(runtime=runtime, timeout=None)
    workflow.run(run_id="live", start_event=Ask(question="ok?"))
    await runtime.wait_for_run("live", timeout=5)
    with pytest.raises(ValueError, match="cancel it"):
        await runtime.delete_run("live")
    await runtime.cancel_run("live")
    with pytest.raises(WorkflowCancelledByUser):
        await runtime.get_handler("live")
    await runtime.delete_run("live")
    for call in (runtime.get_run, runtime.run_outcome, runtime.delete_run):
        with pytest.raises(UnknownRun):
            await call("live")


async def test_wait_for_run_gives_up_on_a_run_that_never_starts(
    make_runtime: MakeRuntime,
) -> None:
    runtime = make_runtime()
    with pytest.raises(UnknownRun, match="did not reach"):
        await runtime.wait_for_run("never", timeout=0.1)
