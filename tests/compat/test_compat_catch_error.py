"""``@catch_error`` handlers: routing, the StepFailedEvent they get, budgets, validation."""

from __future__ import annotations

from datetime import timezone

import pytest
from compat_support import drain, type_names

from reflow import Context, Workflow, catch_error, step
from reflow.errors import WorkflowValidationError
from reflow.events import Event, StartEvent, StepFailedEvent, StopEvent, WorkflowFailedEvent
from reflow.retry_policy import retry_policy, stop_after_attempt, wait_none


class Item(Event):
    n: int = 0


class Note(Event):
    msg: str


class RecoverToStop(Workflow):
    @step(retry_policy=retry_policy(wait=wait_none(), stop=stop_after_attempt(2)))
    async def start(self, ev: StartEvent) -> StopEvent:
        raise KeyError("k")

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result=ev)


async def test_wildcard_handler_gets_step_failed_event_after_retries() -> None:
    failed = await RecoverToStop(timeout=2).run(tag="x")
    assert isinstance(failed, StepFailedEvent)
    assert failed.step_name == "start"
    assert isinstance(failed.exception, KeyError)
    assert failed.exception.args == ("k",)
    assert failed.attempts == 2
    assert type(failed.input_event) is StartEvent
    assert failed.input_event.tag == "x"
    assert failed.failed_at.tzinfo is not None
    assert failed.failed_at.utcoffset() == timezone.utc.utcoffset(None)
    assert failed.elapsed_seconds >= 0


async def test_step_failed_event_dump_serializes_exception_and_input_event() -> None:
    failed = await RecoverToStop(timeout=2).run()
    dumped = failed.model_dump()
    assert dumped["exception"] == {
        "exception_type": "builtins.KeyError",
        "exception_message": "'k'",
    }
    assert dumped["input_event"]["__is_pydantic"] is True
    assert dumped["input_event"]["qualified_name"] == f"{StartEvent.__module__}.StartEvent"


async def test_recovered_run_publishes_no_failed_event() -> None:
    events = await drain(RecoverToStop(timeout=2).run())
    assert type_names(events) == ["StopEvent"]


class LoopingRecovery(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Item:
        return Item(n=0)

    @step
    async def work(self, ev: Item) -> StopEvent:
        raise RuntimeError(f"bad {ev.n}")

    @catch_error(max_recoveries=2)
    async def recover(self, ctx: Context, ev: StepFailedEvent) -> Item:
        ctx.write_event_to_stream(Note(msg=str(ev.exception)))
        return Item(n=ev.input_event.n + 1)


async def test_max_recoveries_is_a_budget_along_one_event_lineage() -> None:
    handler = LoopingRecovery(timeout=2).run()
    events = await drain(handler)
    assert type_names(events) == ["Note", "Note", "WorkflowFailedEvent"]
    assert [ev.msg for ev in events[:2]] == ["bad 0", "bad 1"]
    failed = events[-1]
    assert isinstance(failed, WorkflowFailedEvent)
    assert failed.step_name == "work"
    with pytest.raises(RuntimeError, match=r"^bad 2$"):
        await handler


class DefaultBudget(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Item:
        return Item(n=0)

    @step
    async def work(self, ev: Item) -> StopEvent:
        raise RuntimeError(f"bad {ev.n}")

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> Item:
        return Item(n=ev.input_event.n + 1)


async def test_default_budget_is_one_recovery() -> None:
    with pytest.raises(RuntimeError, match=r"^bad 1$"):
        await DefaultBudget(timeout=2).run()


class IndependentLineages(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> Item | None:
        ctx.send_event(Item(n=0))
        ctx.send_event(Item(n=10))
        return None

    @step
    async def work(self, ev: Item) -> Note:
        if ev.n in (0, 10):
            raise RuntimeError(f"bad {ev.n}")
        return Note(msg=str(ev.n))

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> Item:
        return Item(n=ev.input_event.n + 1)

    @step
    async def finish(self, ctx: Context, ev: Note) -> StopEvent | None:
        notes = ctx.collect_events(ev, [Note, Note])
        if notes is None:
            return None
        return StopEvent(result=sorted(n.msg for n in notes))


async def test_each_lineage_has_its_own_budget() -> None:
    assert await IndependentLineages(timeout=2).run() == ["1", "11"]


class Scoped(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Item:
        if ev.fail_start:
            raise ValueError("start failed")
        return Item()

    @step
    async def work(self, ev: Item) -> StopEvent:
        raise ValueError("work failed")

    @catch_error(for_steps=["start"])
    async def for_start(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result=("for_start", ev.step_name))

    @catch_error
    async def fallback(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result=("fallback", ev.step_name))


async def test_scoped_handler_takes_its_steps() -> None:
    assert await Scoped(timeout=2).run(fail_start=True) == ("for_start", "start")


async def test_wildcard_takes_steps_not_claimed_by_a_scoped_handler() -> None:
    assert await Scoped(timeout=2).run(fail_start=False) == ("fallback", "work")


class OnlyScoped(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Item:
        return Item()

    @step
    async def work(self, ev: Item) -> StopEvent:
        raise ValueError("unclaimed")

    @catch_error(for_steps=["start"])
    async def for_start(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result="handled")


async def test_failure_in_an_unclaimed_step_fails_the_run() -> None:
    with pytest.raises(ValueError, match=r"^unclaimed$"):
        await OnlyScoped(timeout=2).run()


class HandlerRaises(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        raise ValueError("original")

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> StopEvent:
        raise TypeError("from handler")


async def test_a_raising_handler_fails_the_run_with_its_own_exception() -> None:
    handler = HandlerRaises(timeout=2).run()
    events = await drain(handler)
    assert isinstance(events[-1], WorkflowFailedEvent)
    assert events[-1].step_name == "recover"
    with pytest.raises(TypeError, match=r"^from handler$"):
        await handler


class ContinueAfterRecovery(Workflow):
    @step
    async def start(self, ev: StartEvent) -> Item:
        raise ValueError("x")

    @step
    async def work(self, ev: Item) -> StopEvent:
        return StopEvent(result=f"continued {ev.n}")

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> Item:
        return Item(n=5)


async def test_handler_may_return_an_ordinary_event_that_continues_the_run() -> None:
    assert await ContinueAfterRecovery(timeout=2).run() == "continued 5"


class TwoWildcards(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent()

    @catch_error
    async def h1(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()

    @catch_error
    async def h2(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()


class UnknownTarget(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent()

    @catch_error(for_steps=["nope"])
    async def h1(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()


class CoversHandler(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent()

    @catch_error(for_steps=["start"])
    async def h1(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()

    @catch_error(for_steps=["h1"])
    async def h2(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()


class ClaimedTwice(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent()

    @catch_error(for_steps=["start"])
    async def h1(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()

    @catch_error(for_steps=["start"])
    async def h2(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent()


@pytest.mark.parametrize(
    ("workflow_class", "message"),
    [
        (
            TwoWildcards,
            "Only one wildcard @catch_error handler is allowed per workflow, found 2: h1, h2",
        ),
        (UnknownTarget, "@catch_error handler 'h1' lists unknown step 'nope' in for_steps."),
        (CoversHandler, "@catch_error handler 'h2' cannot cover another handler step 'h1'."),
        (ClaimedTwice, "Step 'start' is claimed by two @catch_error handlers: 'h1' and 'h2'."),
    ],
)
async def test_catch_error_graph_rules_are_checked_by_validate_and_run(
    workflow_class: type[Workflow], message: str
) -> None:
    workflow = workflow_class(timeout=2)  # construction does not check these rules
    with pytest.raises(WorkflowValidationError) as info:
        workflow.validate()
    assert str(info.value) == message
    with pytest.raises(WorkflowValidationError) as info:
        workflow.run()
    assert str(info.value) == message


def test_handler_must_accept_exactly_step_failed_event() -> None:
    with pytest.raises(WorkflowValidationError) as info:

        class Bad(Workflow):
            @step
            async def start(self, ev: StartEvent) -> StopEvent:
                return StopEvent()

            @catch_error
            async def handle(self, ev: Item) -> StopEvent:
                return StopEvent()

    assert str(info.value) == (
        "@catch_error handler 'handle' must accept StepFailedEvent as its event parameter."
    )


@pytest.mark.parametrize("bad", [0, -2])
def test_max_recoveries_must_be_at_least_one(bad: int) -> None:
    with pytest.raises(WorkflowValidationError) as info:

        class Bad(Workflow):
            @step
            async def start(self, ev: StartEvent) -> StopEvent:
                return StopEvent()

            @catch_error(max_recoveries=bad)
            async def handle(self, ev: StepFailedEvent) -> StopEvent:
                return StopEvent()

    assert str(info.value) == "@catch_error max_recoveries must be an integer >= 1"
