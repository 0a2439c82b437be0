"""Run state: ``DictState``, typed ``Context[Model]`` state and the store API."""

from __future__ import annotations

import pydantic
import pytest
from pydantic import BaseModel, Field

from reflow import Context, Workflow, step
from reflow.context.state_store import DictState, InMemoryStateStore, StateStore
from reflow.events import Event, StartEvent, StopEvent


class Inner(BaseModel):
    tags: list[str] = Field(default_factory=list)


class Counters(BaseModel):
    count: int = 0
    inner: Inner = Field(default_factory=Inner)
    data: dict[str, object] = Field(default_factory=dict)


class TypedState(Workflow):
    @step
    async def start(self, ctx: Context[Counters], ev: StartEvent) -> StopEvent:
        initial = await ctx.store.get_state()
        async with ctx.store.edit_state() as state:
            state.count += 1
            state.inner.tags.append("x")
        await ctx.store.set("data.a.b", 5)
        return StopEvent(
            result={
                "initial": initial.model_dump(),
                "tag0": await ctx.store.get("inner.tags.0"),
                "nested": await ctx.store.get("data"),
                "count": await ctx.store.get("count"),
            }
        )


async def test_typed_state_starts_from_model_defaults_and_supports_paths() -> None:
    result = await TypedState(timeout=2).run()
    assert result == {
        "initial": {"count": 0, "inner": {"tags": []}, "data": {}},
        "tag0": "x",
        "nested": {"a": {"b": 5}},
        "count": 1,
    }


async def test_typed_state_is_visible_from_the_handler_after_the_run() -> None:
    handler = TypedState(timeout=2).run()
    await handler
    state = await handler.ctx.store.get_state()
    assert type(state) is Counters
    assert state.count == 1
    assert state.data == {"a": {"b": 5}}
    assert handler.ctx.store.state_type is Counters
    assert isinstance(handler.ctx.store, StateStore)


async def test_pre_run_store_writes_seed_the_run() -> None:
    workflow = TypedState(timeout=2)
    ctx: Context[Counters] = Context(workflow)
    assert type(await ctx.store.get_state()) is Counters
    await ctx.store.set("count", 41)
    result = await workflow.run(ctx=ctx)
    assert result["initial"]["count"] == 41
    assert result["count"] == 42


class PathErrors(Workflow):
    @step
    async def start(self, ctx: Context[Counters], ev: StartEvent) -> StopEvent:
        errors = []
        for path in ("nope", "data.zz"):
            try:
                await ctx.store.get(path)
            except ValueError as exc:
                errors.append(str(exc))
        for path, value in (("", 1), ("newfield", 1)):
            try:
                await ctx.store.set(path, value)
            except ValueError as exc:
                errors.append(str(exc))
        defaults = (await ctx.store.get("nope", None), await ctx.store.get("data.zz", 3))
        return StopEvent(result=(errors, defaults))


async def test_store_path_errors_and_defaults() -> None:
    errors, defaults = await PathErrors(timeout=2).run()
    assert errors == [
        "Path 'nope' not found in state",
        "Path 'data.zz' not found in state",
        "Path cannot be empty",
        '"Counters" object has no field "newfield"',
    ]
    assert defaults == (None, 3)


class CopySemantics(Workflow):
    @step
    async def start(self, ctx: Context[Counters], ev: StartEvent) -> StopEvent:
        snapshot = await ctx.store.get_state()
        snapshot.count = 999
        return StopEvent(result=await ctx.store.get("count"))


async def test_get_state_returns_a_copy() -> None:
    assert await CopySemantics(timeout=2).run() == 0


class Base(BaseModel):
    a: int = 1


class Derived(Base):
    b: int = 2


class Unrelated(BaseModel):
    c: int = 3


class Hop(Event):
    pass


class InheritedStates(Workflow):
    @step
    async def start(self, ctx: Context[Base], ev: StartEvent) -> Hop:
        await ctx.store.set_state(Base(a=10))
        return Hop()

    @step
    async def finish(self, ctx: Context[Derived], ev: Hop) -> StopEvent:
        state = await ctx.store.get_state()
        return StopEvent(result=(type(state).__name__, state.a, state.b))


async def test_most_derived_state_type_wins_and_parent_set_state_merges() -> None:
    assert await InheritedStates(timeout=2).run() == ("Derived", 10, 2)


class ConflictingStates(Workflow):
    @step
    async def start(self, ctx: Context[Base], ev: StartEvent) -> Hop:
        return Hop()

    @step
    async def finish(self, ctx: Context[Unrelated], ev: Hop) -> StopEvent:
        return StopEvent()


async def test_unrelated_state_types_are_rejected_when_the_run_starts() -> None:
    workflow = ConflictingStates(timeout=2)  # construction succeeds
    with pytest.raises(ValueError) as info:
        workflow.run()
    message = str(info.value)
    assert message.startswith(
        "Multiple state types are not in a compatible inheritance hierarchy. "
        "All state types must share a common inheritance chain. Found: "
    )
    # The two names come from a set, so their order is not fixed.
    assert sorted(message.rsplit("Found: ", 1)[1].split(", ")) == ["Base", "Unrelated"]


class NeedsValue(BaseModel):
    x: int


class RequiredFieldState(Workflow):
    @step
    async def start(self, ctx: Context[NeedsValue], ev: StartEvent) -> StopEvent:
        return StopEvent()


async def test_state_model_fields_need_defaults() -> None:
    with pytest.raises(pydantic.ValidationError):
        RequiredFieldState(timeout=2).run()


class WrongStateType(Workflow):
    @step
    async def start(self, ctx: Context[Counters], ev: StartEvent) -> StopEvent:
        try:
            await ctx.store.set_state(DictState())  # type: ignore[arg-type]
        except ValueError as exc:
            return StopEvent(result=str(exc))
        return StopEvent(result="accepted")


async def test_set_state_with_an_unrelated_type_raises() -> None:
    assert await WrongStateType(timeout=2).run() == (
        "State must be of type Counters or a parent type, got DictState"
    )


class DictStateFlow(Workflow):
    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.store.set("user.name", "ann")
        await ctx.store.set("items", [1, 2])
        async with ctx.store.edit_state() as state:
            state["visits"] = state.get("visits", 0) + 1
            state.extra = "attr"
        state = await ctx.store.get_state()
        return StopEvent(
            result=(
                type(state).__name__,
                await ctx.store.get("user.name"),
                await ctx.store.get("items.1"),
                state["visits"],
                state.extra,
                sorted(state.keys()),
            )
        )


async def test_untyped_context_uses_dict_state() -> None:
    assert await DictStateFlow(timeout=2).run() == (
        "DictState",
        "ann",
        2,
        1,
        "attr",
        ["extra", "items", "user", "visits"],
    )


async def test_store_clear_resets_to_defaults() -> None:
    handler = TypedState(timeout=2).run()
    await handler
    await handler.ctx.store.clear()
    assert (await handler.ctx.store.get_state()).model_dump() == Counters().model_dump()


def test_dict_state_is_dict_like() -> None:
    state = DictState(a=1)
    state["b"] = 2
    state.c = 3
    assert (state.a, state["b"], "c" in state, state.get("zz", 9)) == (1, 2, True, 9)
    assert dict(state.items()) == {"a": 1, "b": 2, "c": 3}
    assert (len(state), list(state)) == (3, ["a", "b", "c"])
    assert state.model_dump() == {"_data": {"a": 1, "b": 2, "c": 3}}
    assert state.to_dict() == {"a": 1, "b": 2, "c": 3}
    with pytest.raises(AttributeError):
        _ = state.zz
    with pytest.raises(KeyError):
        _ = state["zz"]


async def test_in_memory_store_standalone() -> None:
    store = InMemoryStateStore(Counters())
    await store.set("count", 3)
    await store.set("data.k", "v")
    assert await store.get("count") == 3
    assert await store.get("data") == {"k": "v"}
    async with store.edit_state() as state:
        state.count = 4
    assert (await store.get_state()).count == 4
    assert store.state_type is Counters
