"""A ``Workflow`` subclass that is also a pydantic model, as llama-index-core's agents are.

The model's fields are the user's; nothing reflow keeps on the instance may show up in (or be
refused by) pydantic: construction, validation, ``model_dump``, ``model_copy`` and runs.
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from reflow import Context, Workflow, step
from reflow.events import StartEvent, StopEvent
from reflow.workflow import WorkflowMeta


class _ModelWorkflowMeta(WorkflowMeta, type(BaseModel)):  # type: ignore[misc]
    pass


class Greeter(Workflow, BaseModel, metaclass=_ModelWorkflowMeta):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    greeting: str = "Hello"
    times: int = 1

    def __init__(self, timeout: float | None = 10.0, **fields: Any) -> None:
        BaseModel.__init__(self, **fields)
        Workflow.__init__(self, timeout=timeout, num_concurrent_runs=2)

    @step
    async def greet(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.store.set("greeted", ev.get("name"))
        return StopEvent(result=" ".join([f"{self.greeting}, {ev.get('name')}!"] * self.times))


async def test_constructs_validates_and_runs() -> None:
    greeter = Greeter(greeting="Hi", times=2)
    assert greeter.validate() is False  # no human-in-the-loop steps
    assert await greeter.run(name="Ada") == "Hi, Ada! Hi, Ada!"


def test_fields_are_validated_by_pydantic() -> None:
    with pytest.raises(ValidationError, match="times"):
        Greeter(times="many")


def test_model_dump_shows_only_the_models_fields() -> None:
    assert Greeter(greeting="Hey").model_dump() == {"greeting": "Hey", "times": 1}
    assert Greeter().model_dump_json() == '{"greeting":"Hello","times":1}'


async def test_model_copy_is_a_workflow_that_runs() -> None:
    original = Greeter(greeting="Hi")
    copy = original.model_copy(update={"greeting": "Yo"})
    assert (copy.greeting, original.greeting) == ("Yo", "Hi")
    assert await copy.run(name="Bo") == "Yo, Bo!"
    assert await original.run(name="Bo") == "Hi, Bo!"


def test_equal_models_are_still_distinct_workflows() -> None:
    first, second = Greeter(), Greeter()
    assert first == second  # pydantic compares fields
    assert len({first, second}) == 2  # runtimes key workflows by identity


async def test_the_concurrency_limit_is_kept_out_of_the_model() -> None:
    greeter = Greeter()
    assert "num_concurrent_runs" not in greeter.model_dump()
    results = [await greeter.run(name=str(i)) for i in range(3)]
    assert results == ["Hello, 0!", "Hello, 1!", "Hello, 2!"]


def test_a_model_from_json_is_a_workflow() -> None:
    restored = Greeter.model_validate_json('{"greeting":"Hej","times":1}')
    assert isinstance(restored, Workflow) and restored.greeting == "Hej"
    assert isinstance(restored, BaseModel)
