"""One rule for values in the state that cannot be serialized (a client, a lock).

In memory with no serializer chosen, the store keeps such a value by reference, as the peer
does, warning once with its path; ``to_dict()`` then fails naming that path.  Under a durable
runtime, or once a serializer was chosen, the write is refused at once with the path.  And
``set`` by path copies only the spine of the path: siblings are shared, earlier readers are
unaffected, and containers that cannot be copied are written through.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import threading
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from reflow import Context, Workflow, step
from reflow.context.serializers import JsonSerializer, PickleSerializer
from reflow.context.state_store import DictState, InMemoryStateStore, UnserializableStateWarning
from reflow.durable import DurableRuntime
from reflow.errors import SerializationError
from reflow.events import StartEvent, StopEvent


class Client:
    """Stands for an SDK client: holds a lock, so neither JSON nor pickle can encode it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()


class StoresClient(Workflow):
    @step
    async def keep(self, ctx: Context, ev: StartEvent) -> StopEvent:
        client = Client()
        try:
            await ctx.store.set("services.llm", client)
        except SerializationError as error:
            return StopEvent(result=("refused", error.path))
        await ctx.store.set("services.llm", client)  # a second write does not warn again
        kept = await ctx.store.get("services.llm")
        return StopEvent(result=("kept", kept is client))


async def test_in_memory_without_a_serializer_keeps_the_value_by_reference() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        handler = StoresClient(timeout=5).run()
        assert await handler == ("kept", True)
    messages = [str(w.message) for w in caught if w.category is UnserializableStateWarning]
    assert len(messages) == 1
    assert messages[0].startswith('state.services["llm"] holds a value that cannot be serialized')
    with pytest.raises(SerializationError) as refused:
        handler.ctx.to_dict()
    assert refused.value.path == 'state.services["llm"]'


@pytest.mark.parametrize(
    "serializer", [JsonSerializer(), PickleSerializer()], ids=["json", "pickle"]
)
async def test_a_chosen_serializer_refuses_the_value_at_once(serializer: Any) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnserializableStateWarning)
        outcome = await StoresClient(timeout=5, serializer=serializer).run()
    assert outcome == ("refused", 'state.services["llm"]')


async def test_a_serializer_chosen_for_the_context_refuses_too() -> None:
    workflow = StoresClient(timeout=5)
    ctx = Context(workflow, serializer=PickleSerializer())
    assert await workflow.run(ctx=ctx) == ("refused", 'state.services["llm"]')


async def test_a_durable_runtime_refuses_the_value_at_once(tmp_path: Path) -> None:
    runtime = DurableRuntime(str(tmp_path / "runs.db"), poll_interval=0.02)
    try:
        outcome = await StoresClient(timeout=5, runtime=runtime).run()
    finally:
        await runtime.destroy()
    assert outcome == ("refused", 'state.services["llm"]')


class Settings(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str = ""
    client: Any = None


class Typed(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    settings: Settings = Settings()
    counts: dict[str, int] = {}


class TypedKeeps(Workflow):
    @step
    async def keep(self, ctx: Context[Typed], ev: StartEvent) -> StopEvent:
        await ctx.store.set_state(Typed(settings=Settings(client=Client())))
        async with ctx.store.edit_state() as state:
            state.counts["a"] = 1
        return StopEvent(result=type((await ctx.store.get_state()).settings.client).__name__)


async def test_set_state_and_edit_state_keep_it_too_and_the_snapshot_names_it() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        handler = TypedKeeps(timeout=5).run()
        assert await handler == "Client"
    warned = [str(w.message) for w in caught if w.category is UnserializableStateWarning]
    assert len(warned) == 1 and warned[0].startswith("state.settings.client ")
    with pytest.raises(SerializationError) as refused:
        handler.ctx.to_dict()
    assert refused.value.path == "state.settings.client"


# -- set copies the spine ------------------------------------------------------------------


async def test_writes_without_a_read_between_them_leave_the_last_read_intact() -> None:
    store = InMemoryStateStore(DictState())
    await store.set("a", {"x": 1})
    before = await store.get_state()
    for n in range(3):
        await store.set(f"k{n}", n)
        await store.set("a.x", n + 10)
    assert before.to_dict() == {"a": {"x": 1}}
    assert (await store.get_state()).to_dict() == {"a": {"x": 12}, "k0": 0, "k1": 1, "k2": 2}


async def test_set_copies_only_the_path_so_earlier_readers_are_unaffected() -> None:
    store = InMemoryStateStore(DictState())
    await store.set("a", {"b": {"c": 1}, "sibling": {"big": [1, 2, 3]}})
    before = await store.get_state()
    sibling = await store.get("a.sibling")
    await store.set("a.b.c", 2)
    assert before["a"] == {"b": {"c": 1}, "sibling": {"big": [1, 2, 3]}}
    assert await store.get("a.b.c") == 2
    assert await store.get("a.sibling") is sibling  # siblings are shared, not copied


class Holder:
    """A container set() does not know how to copy: it is written through."""

    def __init__(self) -> None:
        self.inner: dict[str, int] = {"x": 1}


async def test_a_container_that_cannot_be_copied_is_written_through() -> None:
    store = InMemoryStateStore(DictState(), serializer=PickleSerializer())
    holder = Holder()
    await store.set("h", holder)
    await store.set("h.inner", {"x": 2})
    assert holder.inner == {"x": 2}
    assert await store.get("h") is holder


async def test_a_refused_write_through_an_uncopyable_container_is_undone() -> None:
    store = InMemoryStateStore(DictState(), serializer=PickleSerializer())
    holder = Holder()
    await store.set("h", holder)
    with pytest.raises(SerializationError):
        await store.set("h.inner", {"x": threading.Lock()})
    assert holder.inner == {"x": 1}


paths = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4).map(".".join)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(paths, st.integers()), min_size=1, max_size=12))
def test_every_write_leaves_earlier_snapshots_as_they_were(writes: list[tuple[str, int]]) -> None:
    async def scenario() -> None:
        store = InMemoryStateStore(DictState())
        for index, (path, value) in enumerate(writes):
            # Alternate readers of the whole state with readers of the first container on
            # the path, and runs of writes with no read between them.
            held: Any = None
            if index % 3 == 0:
                held = (await store.get_state()).to_dict()
            elif index % 3 == 1:
                held = await store.get(path.split(".")[0], default=None)
            frozen = copy.deepcopy(held)
            # Writing below an int is refused; either way nothing read earlier changes.
            with contextlib.suppress(AttributeError, ValueError, TypeError):
                await store.set(path, value)
            assert held == frozen

    asyncio.run(scenario())


async def test_a_decorated_durable_runtime_still_refuses(tmp_path: Path) -> None:
    from reflow.runtime.runtime_decorators import BaseRuntimeDecorator

    runtime = DurableRuntime(str(tmp_path / "runs.db"), poll_interval=0.02)
    wrapped = BaseRuntimeDecorator(runtime)
    assert wrapped.persists_state is True
    try:
        outcome = await StoresClient(timeout=5, runtime=wrapped).run()
    finally:
        await runtime.destroy()
    assert outcome == ("refused", 'state.services["llm"]')
