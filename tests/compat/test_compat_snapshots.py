"""Context snapshots: ``to_dict`` / ``from_dict``, re-running finished contexts, resuming."""

from __future__ import annotations

import json

import pytest
from pydantic import BaseModel

from reflow import Context, Workflow, step
from reflow.context import PickleSerializer
from reflow.errors import ContextSerdeError, ContextStateError
from reflow.events import (
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    WorkflowIdleEvent,
)


class Tally(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent:
        runs = await ctx.store.get("runs", 0) + 1
        await ctx.store.set("runs", runs)
        return StopEvent(result=runs)


async def test_rerunning_a_finished_context_carries_state_forward() -> None:
    workflow = Tally(timeout=2)
    handler = workflow.run()
    assert await handler == 1
    again = workflow.run(ctx=handler.ctx)
    assert await again == 2
    assert again.ctx is handler.ctx


async def test_user_built_context_is_the_handlers_context() -> None:
    workflow = Tally(timeout=2)
    ctx = Context(workflow)
    handler = workflow.run(ctx=ctx)
    assert handler.ctx is ctx
    assert await handler == 1
    assert await workflow.run(ctx=ctx) == 2


async def test_json_round_trip_of_a_finished_context_keeps_state() -> None:
    workflow = Tally(timeout=2)
    handler = workflow.run()
    await handler
    snapshot = json.loads(json.dumps(handler.ctx.to_dict()))
    restored = Context.from_dict(Tally(timeout=2), snapshot)
    assert restored.is_running is False
    assert await restored.store.get("runs") == 1
    assert await Tally(timeout=2).run(ctx=restored) == 2


async def test_snapshot_top_level_shape() -> None:
    handler = Tally(timeout=2).run()
    await handler
    snapshot = handler.ctx.to_dict()
    assert {"version", "state", "is_running", "workers"} <= set(snapshot)
    assert snapshot["version"] == 2
    assert snapshot["is_running"] is False
    assert set(snapshot["workers"]) == {"start"}
    state = snapshot["state"]
    assert state["store_type"] == "in_memory"
    assert state["state_type"] == "DictState"
    assert json.loads(state["state_data"]["_data"]["runs"]) == 1


async def test_pre_run_snapshot_of_an_untouched_context_has_empty_state() -> None:
    ctx = Context(Tally(timeout=2))
    snapshot = ctx.to_dict()
    assert snapshot["state"] == {}
    assert snapshot["is_running"] is False


async def test_to_dict_can_leave_out_the_state() -> None:
    handler = Tally(timeout=2).run()
    await handler
    assert handler.ctx.to_dict(include_state=False)["state"] == {}


class Settings(BaseModel):
    name: str = "none"
    hits: int = 0


class TypedTally(Workflow):
    @step
    async def start(self, ctx: Context[Settings], ev: StartEvent) -> StopEvent:
        async with ctx.store.edit_state() as state:
            state.hits += 1
            state.name = ev.get("name", state.name)
        final = await ctx.store.get_state()
        return StopEvent(result=(type(final).__name__, final.name, final.hits))


async def test_typed_state_survives_a_json_round_trip() -> None:
    handler = TypedTally(timeout=2).run(name="cfg")
    assert await handler == ("Settings", "cfg", 1)
    snapshot = json.loads(json.dumps(handler.ctx.to_dict()))
    assert snapshot["state"]["state_type"] == "Settings"
    restored = Context.from_dict(TypedTally(timeout=2), snapshot)
    assert await TypedTally(timeout=2).run(ctx=restored) == ("Settings", "cfg", 2)


class Opaque:
    def __init__(self, value: int) -> None:
        self.value = value


class OpaqueState(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent:
        previous = await ctx.store.get("obj", None)
        value = (previous.value if previous else 0) + 1
        await ctx.store.set("obj", Opaque(value))
        return StopEvent(result=value)


async def test_pickle_serializer_round_trips_non_json_values() -> None:
    workflow = OpaqueState(timeout=2)
    handler = workflow.run()
    assert await handler == 1
    snapshot = handler.ctx.to_dict(serializer=PickleSerializer())
    restored = Context.from_dict(workflow, snapshot, serializer=PickleSerializer())
    assert await workflow.run(ctx=restored) == 2


class Ask(InputRequiredEvent):
    prefix: str


class Reply(HumanResponseEvent):
    response: str


class Interview(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Ask:
        await ctx.store.set("asked", await ctx.store.get("asked", 0) + 1)
        return Ask(prefix="name?")

    @step
    async def finish(self, ctx: Context, ev: Reply) -> StopEvent:
        return StopEvent(result=(ev.response, await ctx.store.get("asked")))


async def _snapshot_while_waiting(workflow: Workflow) -> dict[str, object]:
    handler = workflow.run()
    async for ev in handler.stream_events(expose_internal=True):
        if isinstance(ev, WorkflowIdleEvent):
            break
    snapshot = json.loads(json.dumps(handler.ctx.to_dict()))
    await handler.cancel_run()
    return snapshot


async def test_mid_run_snapshot_resumes_on_a_new_workflow_instance() -> None:
    snapshot = await _snapshot_while_waiting(Interview(timeout=2))
    assert snapshot["is_running"] is True
    fresh = Interview(timeout=2)
    restored = Context.from_dict(fresh, snapshot)
    assert restored.is_running is True
    handler = fresh.run(ctx=restored)
    await handler.send_event(Reply(response="ann"))
    # No new start event: the start step did not run a second time.
    assert await handler == ("ann", 1)


async def test_resumed_run_does_not_republish_the_earlier_prompt() -> None:
    snapshot = await _snapshot_while_waiting(Interview(timeout=2))
    fresh = Interview(timeout=2)
    handler = fresh.run(ctx=Context.from_dict(fresh, snapshot))
    await handler.send_event(Reply(response="bo"))
    names = [type(ev).__name__ async for ev in handler.stream_events()]
    assert names == ["StopEvent"]
    assert await handler == ("bo", 1)


class WaitsWithRequirements(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(
            HumanResponseEvent,
            waiter_event=InputRequiredEvent(prefix="p"),
            requirements={"key": ev.key},
            timeout=1,
        )
        return StopEvent(result=(reply.response, ev.key))


async def test_a_restored_waiter_still_applies_its_requirements() -> None:
    first = WaitsWithRequirements(timeout=2)
    handler = first.run(key="a")
    async for ev in handler.stream_events():
        if isinstance(ev, InputRequiredEvent):
            break
    snapshot = json.loads(json.dumps(handler.ctx.to_dict()))
    await handler.cancel_run()

    fresh = WaitsWithRequirements(timeout=2)
    resumed = fresh.run(ctx=Context.from_dict(fresh, snapshot))
    async for ev in resumed.stream_events(expose_internal=True):
        if isinstance(ev, WorkflowIdleEvent):
            await resumed.send_event(HumanResponseEvent(response="no", key="b"))
            await resumed.send_event(HumanResponseEvent(response="yes", key="a"))
            break
    assert await resumed == ("yes", "a")


async def test_a_context_cannot_start_a_second_run_while_one_is_in_flight() -> None:
    workflow = Interview(timeout=2)
    handler = workflow.run()
    with pytest.raises(ContextStateError) as info:
        workflow.run(ctx=handler.ctx)
    assert str(info.value) == (
        "Cannot start a new run while context is already running. "
        "Wait for completion or use a new Context."
    )
    await handler.cancel_run()


def test_from_dict_rejects_an_invalid_payload() -> None:
    with pytest.raises(ContextSerdeError) as info:
        Context.from_dict(Tally(), {"version": 2, "state": 5})
    assert str(info.value).startswith("Context dict specified in an invalid format")
