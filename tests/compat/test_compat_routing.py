"""Routing: which step receives which event, and what a step may return."""

from __future__ import annotations

import contextvars
import threading
from typing import Union

import pytest
from compat_support import drain, drain_and_result, type_names

from reflow import Context, Workflow, step
from reflow.errors import WorkflowRuntimeError, WorkflowTimeoutError
from reflow.events import Event, StartEvent, StopEvent, UnhandledEvent


class Parent(Event):
    x: int = 0


class Child(Parent):
    pass


class Other(Event):
    pass


class ExactTypeWorkflow(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Parent | Child:
        return Child(x=1) if ev.get("child") else Parent(x=2)

    @step
    async def on_parent(self, ev: Parent) -> StopEvent:
        return StopEvent(result=("parent", ev.x))

    @step
    async def on_child(self, ev: Child) -> StopEvent:
        return StopEvent(result=("child", ev.x))


async def test_subclass_event_goes_only_to_the_step_accepting_its_exact_type() -> None:
    assert await ExactTypeWorkflow(timeout=2).run(child=True) == ("child", 1)


async def test_parent_event_goes_to_the_parent_step() -> None:
    assert await ExactTypeWorkflow(timeout=2).run(child=False) == ("parent", 2)


class SubclassUnhandledWorkflow(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Parent:
        return Child(x=1)

    @step
    async def on_parent(self, ev: Parent) -> StopEvent:
        return StopEvent(result="parent")


async def test_subclass_is_not_delivered_to_a_parent_step_and_is_reported_unhandled() -> None:
    handler = SubclassUnhandledWorkflow(timeout=0.2).run()
    events = await drain(handler, expose_internal=True)
    unhandled = [ev for ev in events if isinstance(ev, UnhandledEvent)]
    assert len(unhandled) == 1
    assert unhandled[0].event_type == "Child"
    assert unhandled[0].qualified_name == f"{__name__}.Child"
    assert unhandled[0].step_name is None
    assert unhandled[0].idle is True
    with pytest.raises(WorkflowTimeoutError):
        await handler


class OptInSubclassWorkflow(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Parent:
        return Child(x=7)

    @step(accept_event_subclasses=True)
    async def on_parent(self, ev: Parent) -> StopEvent:
        return StopEvent(result=(type(ev).__name__, ev.x))


async def test_accept_event_subclasses_delivers_subclass_instances() -> None:
    assert await OptInSubclassWorkflow(timeout=2).run() == ("Child", 7)


class UnionWorkflow(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Parent | Other:
        return Other() if ev.get("other") else Parent(x=3)

    @step
    async def either(self, ev: Parent | Other) -> StopEvent:
        return StopEvent(result=type(ev).__name__)


@pytest.mark.parametrize(("other", "expected"), [(True, "Other"), (False, "Parent")])
async def test_union_parameter_accepts_each_member(other: bool, expected: str) -> None:
    assert await UnionWorkflow(timeout=2).run(other=other) == expected


class TypingUnionWorkflow(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Union[Parent, Other]:  # noqa: UP007
        return Other()

    @step
    async def either(self, ev: Union[Parent, Other] | None) -> StopEvent:  # noqa: UP007
        return StopEvent(result=type(ev).__name__)


async def test_typing_union_and_optional_are_understood() -> None:
    assert await TypingUnionWorkflow(timeout=2).run() == "Other"


class FanOutWorkflow(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Parent:
        return Parent(x=1)

    @step
    async def first(self, ctx: Context, ev: Parent) -> Other:
        await ctx.store.set("first", True)
        return Other()

    @step
    async def second(self, ctx: Context, ev: Parent) -> None:
        await ctx.store.set("second", True)

    @step
    async def finish(self, ctx: Context, ev: Other) -> StopEvent:
        return StopEvent(result=(await ctx.store.get("first"), await ctx.store.get("second", None)))


async def test_one_event_reaches_every_step_accepting_it() -> None:
    handler = FanOutWorkflow(timeout=2).run()
    await handler
    assert await handler.ctx.store.get("first") is True
    assert await handler.ctx.store.get("second") is True


class NoneReturningWorkflow(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Parent | None:
        ctx.send_event(Parent(x=5))
        return None

    @step
    async def on_parent(self, ev: Parent) -> StopEvent:
        return StopEvent(result=ev.x)


async def test_returning_none_emits_nothing() -> None:
    events, result = await drain_and_result(NoneReturningWorkflow(timeout=2).run())
    assert result == 5
    assert type_names(events) == ["StopEvent"]


class ReturnsStringWorkflow(Workflow):
    @step
    async def produce(self, ev: StartEvent) -> StopEvent:
        return "not an event"  # type: ignore[return-value]


async def test_returning_a_non_event_fails_the_run_with_a_named_message() -> None:
    with pytest.raises(WorkflowRuntimeError) as info:
        await ReturnsStringWorkflow(timeout=2).run()
    assert str(info.value) == "Step function produce returned str instead of an Event instance."


_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="unset")


class SyncStepWorkflow(Workflow):
    @step
    def start(self, ev: StartEvent) -> Parent:
        return Parent(x=ev.value * 2)

    @step
    def finish(self, ev: Parent) -> StopEvent:
        on_main_thread = threading.current_thread() is threading.main_thread()
        return StopEvent(result=(ev.x, on_main_thread, _request_id.get()))


async def test_sync_steps_run_off_the_loop_thread_with_the_callers_contextvars() -> None:
    token = _request_id.set("req-1")
    try:
        result = await SyncStepWorkflow(timeout=2).run(value=21)
    finally:
        _request_id.reset(token)
    assert result == (42, False, "req-1")


async def test_locally_defined_events_and_workflow_route_normally() -> None:
    class LocalPing(Event):
        n: int

    class LocalWorkflow(Workflow):
        @step
        async def start(self, ev: StartEvent) -> LocalPing:
            return LocalPing(n=ev.n + 1)

        @step
        async def finish(self, ev: LocalPing) -> StopEvent:
            return StopEvent(result=ev.n)

    workflow = LocalWorkflow(timeout=2)
    assert await workflow.run(n=1) == 2
    assert workflow.workflow_name.endswith(
        "test_locally_defined_events_and_workflow_route_normally.<locals>.LocalWorkflow"
    )


async def test_postponed_local_annotations_resolve_from_the_defining_scope() -> None:
    class Hop(Event):
        pass

    class Hopper(Workflow):
        @step
        async def start(self, ev: StartEvent) -> Hop:
            return Hop()

        @step
        async def finish(self, ev: Hop) -> StopEvent:
            return StopEvent(result=type(ev).__name__)

    # This module uses ``from __future__ import annotations``: every hint above is a string.
    assert await Hopper(timeout=2).run() == "Hop"


class EventCarrier(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=(ev.a, ev.get("b"), ev.get("missing", "dflt"), dict(ev.items())))


async def test_run_kwargs_become_dynamic_start_event_fields() -> None:
    result = await EventCarrier(timeout=2).run(a=1, b=[2])
    assert result == (1, [2], "dflt", {"a": 1, "b": [2]})


class GrandChild(Child):
    pass


class ParentSaw(Event):
    name: str


class ChildSaw(Event):
    name: str


class OptInAndExact(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Child:
        return Child(x=1)

    @step(accept_event_subclasses=True)
    async def parent(self, ev: Parent) -> ParentSaw:
        return ParentSaw(name=type(ev).__name__)

    @step
    async def child(self, ev: Child) -> ChildSaw:
        return ChildSaw(name=type(ev).__name__)

    @step
    async def join(self, ctx: Context, ev: ParentSaw | ChildSaw) -> StopEvent | None:
        both = ctx.collect_events(ev, [ParentSaw, ChildSaw])
        if both is None:
            return None
        return StopEvent(result=[e.name for e in both])


async def test_an_opted_in_parent_step_and_an_exact_step_both_receive_the_event() -> None:
    assert await OptInAndExact(timeout=2).run() == ["Child", "Child"]


class DeepSubclass(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Child:
        return GrandChild(x=3)

    @step(accept_event_subclasses=True)
    async def parent(self, ev: Parent) -> StopEvent:
        return StopEvent(result=type(ev).__name__)


async def test_opt_in_matches_any_depth_and_satisfies_validation() -> None:
    # ``Child`` is only consumed through the opted-in ``Parent`` step; validation accepts that.
    assert await DeepSubclass(timeout=2).run() == "GrandChild"


class CustomStart(StartEvent):
    pass


class SubclassStart(Workflow):
    @step(accept_event_subclasses=True)
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=type(ev).__name__)


async def test_start_step_opted_in_accepts_start_event_subclasses() -> None:
    assert await SubclassStart(timeout=2).run(start_event=CustomStart()) == "CustomStart"
    assert await SubclassStart(timeout=2).run() == "StartEvent"
