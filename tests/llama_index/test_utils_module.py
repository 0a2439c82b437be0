"""``reflow.utils``: the step-signature helpers llama-index-core re-exports."""

from __future__ import annotations

import inspect
from typing import Any, Optional, Union

import pytest

from reflow import Context, Workflow, step
from reflow.errors import WorkflowValidationError
from reflow.events import Event, StartEvent, StopEvent
from reflow.utils import (
    _get_param_types,
    _get_return_types,
    get_steps_from_class,
    get_steps_from_instance,
    inspect_signature,
    is_free_function,
    validate_step_signature,
)


class Ping(Event):
    n: int = 0


class Pong(Event):
    pass


class Flow(Workflow):
    @step
    async def first(self, ctx: Context, ev: StartEvent) -> Ping | Pong:
        return Ping()

    @step
    async def second(self, ev: Ping | Pong) -> StopEvent:
        return StopEvent()

    async def helper(self) -> None:
        return None


def test_steps_from_class_and_instance() -> None:
    assert set(get_steps_from_class(Flow)) == {"first", "second"}
    instance_steps = get_steps_from_instance(Flow())
    assert set(instance_steps) == {"first", "second"}
    assert all(inspect.ismethod(fn) for fn in instance_steps.values())


def test_inspect_signature_reads_events_context_and_returns() -> None:
    spec = inspect_signature(Flow.first)
    assert spec.accepted_events == {"ev": [StartEvent]}
    assert spec.context_parameter == "ctx"
    assert spec.return_types == [Ping, Pong]
    validate_step_signature(spec)
    assert inspect_signature(Flow.second).accepted_events == {"ev": [Ping, Pong]}


def test_validate_step_signature_rejects_missing_parts() -> None:
    async def no_event(x: int) -> StopEvent:
        return StopEvent()

    async def no_return(ev: StartEvent):  # type: ignore[no-untyped-def]
        return None

    with pytest.raises(WorkflowValidationError, match="at least one parameter"):
        validate_step_signature(inspect_signature(no_event))
    with pytest.raises(WorkflowValidationError, match="must be annotated"):
        validate_step_signature(inspect_signature(no_return))
    with pytest.raises(TypeError, match="Expected a callable"):
        inspect_signature(3)  # type: ignore[arg-type]


def test_param_and_return_types() -> None:
    def fn(a: Optional[Ping], b: Union[Ping, Pong], c, d: int) -> Optional[Ping]:  # type: ignore[no-untyped-def]  # noqa: UP007, UP045
        return None

    params = inspect.signature(fn).parameters
    hints: dict[str, Any] = {"a": Optional[Ping], "b": Union[Ping, Pong], "d": int}  # noqa: UP007, UP045
    assert _get_param_types(params["a"], hints) == [Ping]
    assert _get_param_types(params["b"], hints) == [Ping, Pong]
    assert _get_param_types(params["c"], hints) == [Any]
    assert _get_param_types(params["d"], hints) == [int]
    assert _get_return_types(fn) == [Ping]

    def none() -> None:
        return None

    def bare():  # type: ignore[no-untyped-def]
        return None

    assert _get_return_types(none) == [type(None)]
    assert _get_return_types(bare) == []


@pytest.mark.parametrize(
    ("qualname", "free"),
    [("f", True), ("C.m", False), ("outer.<locals>.inner", True), ("f.<locals>.C.m", False)],
)
def test_is_free_function(qualname: str, free: bool) -> None:
    assert is_free_function(qualname) is free


def test_is_free_function_rejects_an_empty_name() -> None:
    with pytest.raises(ValueError, match="cannot be empty"):
        is_free_function("")
