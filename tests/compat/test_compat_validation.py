"""Validation at decoration, construction, ``validate()`` and ``run()`` time."""

from __future__ import annotations

import pytest

from reflow import Workflow, step
from reflow.errors import WorkflowConfigurationError, WorkflowValidationError
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
)


class A(Event):
    pass


class B(Event):
    pass


class OtherStart(StartEvent):
    pass


class OtherStop(StopEvent):
    pass


def test_workflow_without_steps_cannot_be_constructed() -> None:
    class Empty(Workflow):
        pass

    with pytest.raises(WorkflowConfigurationError) as info:
        Empty()
    assert str(info.value) == (
        "At least one Event of type StartEvent must be received by any step. "
        "(Workflow 'Empty' has no @step that accepts StartEvent.)"
    )


def test_workflow_without_a_stop_event_cannot_be_constructed() -> None:
    class NoStop(Workflow):
        @step
        async def start(self, ev: StartEvent) -> A:
            return A()

        @step
        async def sink(self, ev: A) -> None:
            return None

    with pytest.raises(WorkflowConfigurationError) as info:
        NoStop()
    assert str(info.value) == (
        "At least one Event of type StopEvent must be returned by any step. "
        "(Workflow 'NoStop' has no @step that returns StopEvent.)"
    )


def test_two_start_event_types_are_rejected() -> None:
    class TwoStarts(Workflow):
        @step
        async def one(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

        @step
        async def two(self, ev: OtherStart) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowConfigurationError) as info:
        TwoStarts()
    assert str(info.value).startswith(
        "Only one type of StartEvent is allowed per workflow, found 2:"
    )
    assert str(info.value).endswith("in workflow 'TwoStarts'.")


def test_two_stop_event_types_are_rejected() -> None:
    class TwoStops(Workflow):
        @step
        async def one(self, ev: StartEvent) -> StopEvent | OtherStop:
            return StopEvent()

    with pytest.raises(WorkflowConfigurationError) as info:
        TwoStops()
    assert str(info.value).startswith(
        "Only one type of StopEvent is allowed per workflow, found 2:"
    )


class AcceptsStop(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent()

    @step
    async def after(self, ev: StopEvent) -> None:
        return None


class ConsumedNotProduced(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent()

    @step
    async def orphan(self, ev: A) -> StopEvent:
        return StopEvent()


class ProducedNotConsumed(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent | A:
        return StopEvent()


class Unreachable(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent:
        return StopEvent()

    @step
    async def a(self, ev: A) -> B:
        return B()

    @step
    async def b(self, ev: B) -> A:
        return A()


class DeadEnd(Workflow):
    @step
    async def start(self, ev: StartEvent) -> StopEvent | A:
        return StopEvent()

    @step
    async def a(self, ev: A) -> B:
        return B()

    @step
    async def b(self, ev: B) -> A:
        return A()


@pytest.mark.parametrize(
    ("workflow_class", "message"),
    [
        (
            AcceptsStop,
            "Step 'after' cannot accept StopEvent. StopEvent signals the end of the workflow. "
            "Use a different Event type instead.",
        ),
        (ConsumedNotProduced, "The following events are consumed but never produced: A"),
        (ProducedNotConsumed, "The following events are produced but never consumed: A"),
        (
            Unreachable,
            "Graph validation failed:\n"
            "  - [reachability] Unreachable steps: a, b\n"
            "    Steps must be reachable from StartEvent or HumanResponseEvent.\n"
            "  - [dead_end] Dead-end steps: a, b\n"
            "    Steps must have a path to StopEvent or InputRequiredEvent.",
        ),
        (
            DeadEnd,
            "Graph validation failed:\n"
            "  - [dead_end] Dead-end steps: a, b\n"
            "    Steps must have a path to StopEvent or InputRequiredEvent.",
        ),
    ],
)
async def test_graph_errors_surface_from_validate_and_run(
    workflow_class: type[Workflow], message: str
) -> None:
    workflow = workflow_class(timeout=1)
    with pytest.raises(WorkflowValidationError) as info:
        workflow.validate()
    assert str(info.value) == message
    with pytest.raises(WorkflowValidationError) as info:
        workflow.run()
    assert str(info.value) == message


def test_step_level_graph_check_opt_out() -> None:
    class OptedOut(Workflow):
        @step
        async def start(self, ev: StartEvent) -> StopEvent | A:
            return StopEvent()

        @step(skip_graph_checks=["dead_end"])
        async def a(self, ev: A) -> B:
            return B()

        @step(skip_graph_checks=["dead_end"])
        async def b(self, ev: B) -> A:
            return A()

    assert OptedOut().validate() is False


def test_workflow_level_graph_check_opt_out() -> None:
    assert DeadEnd(skip_graph_checks={"dead_end"}).validate() is False


def test_unknown_graph_check_names_are_rejected() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        ProducedNotConsumed(skip_graph_checks={"nope", "reachability"})  # type: ignore[arg-type]
    assert str(info.value) == (
        "Unknown graph check names: nope. Valid names are: dead_end, reachability, terminal_event"
    )


async def test_disable_validation_lets_an_invalid_graph_run() -> None:
    assert await ConsumedNotProduced(disable_validation=True, timeout=1).run() is None


class Hitl(Workflow):
    @step
    async def start(self, ev: StartEvent) -> InputRequiredEvent:
        return InputRequiredEvent()

    @step
    async def answer(self, ev: HumanResponseEvent) -> StopEvent:
        return StopEvent()


def test_validate_reports_whether_the_workflow_uses_human_input() -> None:
    assert Hitl().validate() is True
    assert DeadEnd(skip_graph_checks={"dead_end"}).validate() is False


def test_step_needs_a_return_annotation() -> None:
    with pytest.raises(WorkflowValidationError) as info:

        class NoReturn(Workflow):
            @step
            async def start(self, ev: StartEvent):  # type: ignore[no-untyped-def]
                return StopEvent()

    assert (
        str(info.value)
        == "Return types of workflows step functions must be annotated with their type."
    )


def test_step_needs_an_event_parameter() -> None:
    with pytest.raises(WorkflowValidationError) as info:

        class NoEvent(Workflow):
            @step
            async def start(self, value: int) -> StopEvent:
                return StopEvent()

    assert (
        str(info.value) == "Step signature must have at least one parameter annotated as type Event"
    )


def test_unresolvable_annotation_names_the_missing_name() -> None:
    with pytest.raises(WorkflowValidationError) as info:

        class Unresolved(Workflow):
            @step
            async def start(self, ev: NotDefinedAnywhere) -> StopEvent:  # type: ignore[name-defined]  # noqa: F821
                return StopEvent()

    message = str(info.value)
    assert message.startswith("Failed to resolve type annotations for ")
    assert "Unresolved.start" in message
    assert "Missing name: NotDefinedAnywhere." in message


def test_free_function_step_needs_a_workflow_class() -> None:
    with pytest.raises(WorkflowValidationError) as info:

        @step
        async def lonely(ev: StartEvent) -> StopEvent:
            return StopEvent()

    assert (
        str(info.value) == "To decorate lonely please pass a workflow class to the @step decorator."
    )


def test_add_step_requires_the_step_decorator() -> None:
    async def plain(ev: A) -> None:
        return None

    with pytest.raises(WorkflowValidationError) as info:
        ProducedNotConsumed.add_step(plain)  # type: ignore[arg-type]
    assert str(info.value) == "Step function plain is missing the `@step` decorator."


def test_a_step_name_can_only_be_registered_once() -> None:
    class Host(Workflow):
        @step
        async def start(self, ev: StartEvent) -> StopEvent:
            return StopEvent()

    with pytest.raises(WorkflowValidationError) as info:

        @step(workflow=Host)
        async def start(ev: A) -> None:
            return None

    assert (
        str(info.value)
        == "A step start is already part of this workflow, please choose another name."
    )


async def test_free_function_steps_join_the_given_workflow_only() -> None:
    class Host(Workflow):
        @step
        async def start(self, ev: StartEvent) -> A:
            return A()

    class Sibling(Workflow):
        @step
        async def start(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result="sibling")

    @step(workflow=Host)
    async def finish(ev: A) -> StopEvent:
        return StopEvent(result="free function")

    assert await Host(timeout=1).run() == "free function"
    assert await Sibling(timeout=1).run() == "sibling"
