"""InMemoryStateStore: paths, merge rules, edit_state, snapshots in the peer's format, and
reflow's early rejection of values that cannot be serialized."""

from __future__ import annotations

import asyncio
import datetime
import json
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from reflow.context.serializers import JsonSerializer, PickleSerializer
from reflow.context.state_store import (
    MODEL_T,
    DictState,
    InMemoryStateStore,
    StateStore,
    UnserializableKeyWarning,
)
from reflow.errors import SerializationError
from reflow.events import Event


class Inner(BaseModel):
    y: int = 0
    d: dict[str, Any] = {}


class Parent(BaseModel):
    a: int = 1
    inner: Inner = Inner()


class Child(Parent):
    b: str = "x"


class Other(BaseModel):
    a: int = 1


class NoDefault(BaseModel):
    req: int


class Timed(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    when: datetime.datetime = datetime.datetime(2020, 1, 1)
    client: Any = None
    notes: dict[str, Any] = {}


def _dict_store(**values: Any) -> InMemoryStateStore[DictState]:
    return InMemoryStateStore(DictState(**values))


def _peer(text: str) -> str:
    return text.replace("__main__.", f"{__name__}.").replace('"__main__"', json.dumps(__name__))


# -- the protocol and DictState -----------------------------------------------------------------


def test_the_store_satisfies_the_runtime_checkable_protocol() -> None:
    assert isinstance(_dict_store(), StateStore)
    assert not isinstance(object(), StateStore)


def test_model_t_defaults_to_dict_state() -> None:
    assert MODEL_T.__default__ is DictState  # type: ignore[attr-defined]
    assert MODEL_T.__bound__ is BaseModel


def test_dict_state_is_a_dict_like_model() -> None:
    state = DictState(k=1)
    state["m"] = 2
    state.n = 3
    assert (state["k"], state.m, state.get("n"), "k" in state, "zz" in state) == (
        1,
        2,
        3,
        True,
        False,
    )
    assert _dict_store().state_type is DictState


# -- get / set ----------------------------------------------------------------------------------


async def test_set_creates_intermediate_dicts_and_get_follows_the_path() -> None:
    store = _dict_store()
    await store.set("a.b.c", 1)
    assert await store.get("a") == {"b": {"c": 1}}
    assert await store.get("a.b.c") == 1


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("lst.1.k", 2),
        ("lst.-1", {"k": 2}),
        ("lst.01", {"k": 2}),
        ("lst. 1", {"k": 2}),
        ("tp.0", 1),
        ("ev.q", 1),
    ],
)
async def test_get_reads_list_indices_tuples_and_event_fields(path: str, expected: Any) -> None:
    store = _dict_store(lst=[1, {"k": 2}], tp=(1, 2), ev=Event(q=1))
    assert await store.get(path) == expected


@pytest.mark.parametrize(
    "path", ["zz", "a.x", "lst.5", "lst.-3", "lst.x", "ev.keys", "ev._data", "dd.1", "a..b"]
)
async def test_missing_paths_raise_value_error_unless_a_default_is_given(path: str) -> None:
    store = _dict_store(a={"b": 1}, lst=[1, 2], ev=Event(q=1), dd={1: "int key"})
    with pytest.raises(ValueError, match=f"Path '{path}' not found in state"):
        await store.get(path)
    assert await store.get(path, None) is None
    assert await store.get(path, default="d") == "d"


async def test_get_of_the_empty_path_is_the_state_itself() -> None:
    store = InMemoryStateStore(Child(a=3))
    assert await store.get("") == Child(a=3)


async def test_paths_are_limited_to_1000_segments() -> None:
    store = _dict_store()
    too_long = ".".join(["a"] * 1001)
    with pytest.raises(ValueError, match="exceeds 1000 segments"):
        await store.get(too_long)
    with pytest.raises(ValueError, match="exceeds 1000 segments"):
        await store.set(too_long, 1)
    with pytest.raises(ValueError, match="not found"):
        await store.get(".".join(["a"] * 1000))


async def test_set_rejects_the_empty_path() -> None:
    with pytest.raises(ValueError, match="Path cannot be empty"):
        await _dict_store().set("", 1)


async def test_set_writes_into_lists_events_and_objects() -> None:
    class Holder:
        def __init__(self) -> None:
            self.q: dict[str, int] = {"r": 1}

    store = InMemoryStateStore(
        DictState(lst=[1, {"k": 2}], ev=Event(q=1), o=Holder()), check_values=False
    )
    await store.set("lst.0", 9)
    await store.set("lst.-1.k", 3)
    await store.set("ev.z", 5)
    await store.set("o.q.r", 2)
    await store.set("o.m.x", 1)
    await store.set("x..y", 1)
    assert await store.get("lst") == [9, {"k": 3}]
    assert (await store.get("ev")).to_dict() == {"q": 1, "z": 5}
    assert (await store.get("o.q.r"), await store.get("o.m")) == (2, {"x": 1})
    assert await store.get("x") == {"": {"y": 1}}


@pytest.mark.parametrize("path", ["lst.7", "lst.x", "n.x", "i.d", "tp.0"])
async def test_set_where_nothing_can_hold_the_value_raises_attribute_error(path: str) -> None:
    store = _dict_store(lst=[1], n=None, i=1, tp=(1, 2))
    with pytest.raises(AttributeError, match=f"Cannot set '{path}'"):
        await store.set(path, 1)


async def test_typed_state_paths_use_fields() -> None:
    store = InMemoryStateStore(Child())
    await store.set("inner.y", 7)
    await store.set("inner.d.x.y", 1)
    assert (await store.get("inner.y"), await store.get("inner.d")) == (7, {"x": {"y": 1}})
    for path in ("newfield", "inner.z", "newf.x"):
        with pytest.raises(ValueError, match="has no field"):
            await store.set(path, 1)


async def test_get_and_set_share_values_with_the_store() -> None:
    store = _dict_store()
    value = {"z": 1}
    await store.set("val", value)
    value["z"] = 2
    (await store.get("val"))["w"] = 3
    assert await store.get("val") == {"z": 2, "w": 3}


def test_the_sync_api_reads_and_writes_the_same_state() -> None:
    store = _dict_store()
    store.set_sync("a.b", 1)
    assert store.get_sync("a.b") == 1
    assert store.get_sync("nope", 5) == 5
    with pytest.raises(ValueError, match="empty"):
        store.set_sync("", 1)


@given(
    st.lists(st.from_regex(r"[a-z]{1,5}", fullmatch=True), min_size=1, max_size=6),
    st.none() | st.integers() | st.text() | st.lists(st.integers(), max_size=3),
)
def test_set_then_get_returns_the_value(segments: list[str], value: Any) -> None:
    async def scenario() -> Any:
        store = _dict_store()
        await store.set(".".join(segments), value)
        return await store.get(".".join(segments))

    assert asyncio.run(scenario()) == value


# -- get_state / set_state / clear --------------------------------------------------------------


async def test_get_state_is_a_shallow_copy() -> None:
    store = InMemoryStateStore(Child())
    copy = await store.get_state()
    copy.a = 99
    copy.inner.y = 5
    assert (await store.get("a"), await store.get("inner.y")) == (1, 5)

    dict_store = _dict_store(n={"k": 1})
    dict_copy = await dict_store.get_state()
    dict_copy["added"] = 1  # a DictState copy shares its keys with the store, as in the peer
    assert await dict_store.get("added") == 1


async def test_set_state_with_the_same_type_replaces_the_state() -> None:
    store = InMemoryStateStore(Child(b="keep"))
    new = Child(a=1)
    await store.set_state(new)
    assert await store.get_state() == Child(a=1)
    dict_store = _dict_store(a=1)
    await dict_store.set_state(DictState(q=1))
    assert (await dict_store.get_state()).to_dict() == {"q": 1}


async def test_set_state_with_a_parent_type_merges_and_keeps_child_fields() -> None:
    store = InMemoryStateStore(Child(a=5, b="q"))
    parent = Parent(a=42)
    await store.set_state(parent)
    parent.a = 8
    assert await store.get_state() == Child(a=42, b="q")


async def test_a_parent_typed_store_accepts_a_child_and_then_merges_parents_into_it() -> None:
    store = InMemoryStateStore(Parent())
    await store.set_state(Child(a=3, b="z"))
    await store.set_state(Parent(a=5))
    assert await store.get_state() == Child(a=5, b="z")
    assert store.state_type is Parent
    await store.clear()
    assert await store.get_state() == Child()


@pytest.mark.parametrize(
    ("initial", "given"),
    [(Child(), Other()), (DictState(), Parent())],
    ids=["typed", "dict state"],
)
async def test_set_state_with_an_unrelated_type_raises(
    initial: BaseModel, given: BaseModel
) -> None:
    store = InMemoryStateStore(initial)
    with pytest.raises(ValueError, match="or a parent type, got"):
        await store.set_state(given)


async def test_clear_resets_to_defaults() -> None:
    store = InMemoryStateStore(Child(a=5, b="q"))
    await store.clear()
    assert await store.get_state() == Child()
    dict_store = _dict_store(a=1)
    await dict_store.clear()
    assert len(await dict_store.get_state()) == 0


async def test_clear_without_defaults_raises_naming_the_fields() -> None:
    with pytest.raises(ValueError, match="req"):
        await InMemoryStateStore(NoDefault(req=1)).clear()


def test_the_initial_state_must_be_a_model() -> None:
    with pytest.raises(TypeError, match="pydantic model"):
        InMemoryStateStore({"a": 1})  # type: ignore[type-var]


# -- edit_state ---------------------------------------------------------------------------------


async def test_edit_state_edits_a_copy_committed_on_exit() -> None:
    store = _dict_store(n={"k": [1]})
    async with store.edit_state() as state:
        state["n"]["k"].append(2)
        state["e"] = 1
        assert await store.get("n") == {"k": [1]}
        assert await store.get("e", "absent") == "absent"
    assert (await store.get("n"), await store.get("e")) == ({"k": [1, 2]}, 1)


async def test_edit_state_discards_the_copy_when_the_block_raises() -> None:
    store = _dict_store(n={"k": [1]})
    with pytest.raises(RuntimeError, match="boom"):
        async with store.edit_state() as state:
            state["n"]["k"].append(3)
            state["f"] = 1
            raise RuntimeError("boom")
    assert (await store.get("n"), await store.get("f", "absent")) == ({"k": [1]}, "absent")


async def test_writers_inside_edit_state_raise_instead_of_deadlocking() -> None:
    store = _dict_store()
    async with store.edit_state():
        for write in (store.set("b", 2), store.set_state(DictState()), store.clear()):
            with pytest.raises(RuntimeError, match="edit_state"):
                await write
        with pytest.raises(RuntimeError, match="edit_state"):
            async with store.edit_state():
                pass
    await store.set("b", 2)  # fine once the block has ended
    assert await store.get("b") == 2


async def test_a_task_started_inside_edit_state_waits_for_the_block_then_writes() -> None:
    store = _dict_store()

    async def child() -> None:
        await store.set("child", 1)

    async with store.edit_state() as state:
        task = asyncio.create_task(child())
        await asyncio.sleep(0.01)
        assert not task.done()
        state["parent"] = 1
    await task
    assert (await store.get("parent"), await store.get("child")) == (1, 1)


async def test_concurrent_edits_do_not_lose_updates() -> None:
    store = _dict_store(n=0)

    async def increment() -> None:
        async with store.edit_state() as state:
            current = state["n"]
            await asyncio.sleep(0)
            state["n"] = current + 1

    await asyncio.gather(*(increment() for _ in range(50)))
    assert await store.get("n") == 50


async def test_writers_wait_for_an_open_edit() -> None:
    store = _dict_store(n=0)
    entered = asyncio.Event()
    release = asyncio.Event()

    async def editor() -> None:
        async with store.edit_state() as state:
            entered.set()
            await release.wait()
            state["n"] = state["n"] + 10

    editing = asyncio.create_task(editor())
    await entered.wait()
    writing = asyncio.create_task(store.set("n", 1))
    await asyncio.sleep(0)
    assert not writing.done()
    with pytest.raises(RuntimeError, match="in progress"):
        store.set_sync("n", 2)
    release.set()
    await asyncio.gather(editing, writing)
    assert await store.get("n") == 1  # the set ran after the edit committed 10


async def test_values_that_cannot_be_copied_are_shared_with_the_edit() -> None:
    lock = threading.Lock()
    store = _dict_store(memory=lock, n=1)
    async with store.edit_state() as state:
        assert state["memory"] is lock
        state["n"] = 2
    assert await store.get("n") == 2


# -- snapshots ----------------------------------------------------------------------------------

# llama-index-workflows 2.26.1, `store.to_dict(JsonSerializer())` for the same contents.
PEER_DICT_STATE = (
    '{"store_type": "in_memory", "state_type": "DictState", "state_module": '
    '"workflows.context.state_store", "state_data": {"_data": {"x": "1", "m": "{\\"q\\": [1, 2]}", '
    '"model": "{\\"__is_pydantic\\": true, \\"value\\": {\\"y\\": 3, \\"d\\": {}}, '
    '\\"qualified_name\\": \\"__main__.Inner\\"}", "none": "null"}}}'
)
PEER_TYPED_STATE = (
    '{"store_type": "in_memory", "state_type": "Child", "state_module": "__main__", "state_data": '
    '"{\\"__is_pydantic\\": true, \\"value\\": {\\"a\\": 5, '
    '\\"inner\\": {\\"y\\": 0, \\"d\\": {}}, \\"b\\": \\"q\\"}, '
    '\\"qualified_name\\": \\"__main__.Child\\"}"}'
)


async def test_dict_state_snapshot_is_the_peers_format() -> None:
    store = _dict_store()
    for key, value in (("x", 1), ("m", {"q": [1, 2]}), ("model", Inner(y=3)), ("none", None)):
        await store.set(key, value)
    expected = _peer(PEER_DICT_STATE).replace("workflows.context", "reflow.context")
    assert json.dumps(store.to_dict(JsonSerializer())) == expected
    assert json.dumps(store.to_dict(PickleSerializer())) == expected


def test_typed_state_snapshot_is_the_peers_format() -> None:
    store = InMemoryStateStore(Child(a=5, b="q"))
    assert json.dumps(store.to_dict(JsonSerializer())) == _peer(PEER_TYPED_STATE)
    assert store.to_dict() == store.to_dict(JsonSerializer())  # the store's serializer by default


async def test_peer_snapshots_restore() -> None:
    restored = InMemoryStateStore.from_dict(json.loads(_peer(PEER_DICT_STATE)), JsonSerializer())
    assert restored.state_type is DictState
    assert await restored.get("model") == Inner(y=3)
    assert (await restored.get("m"), await restored.get("none")) == ({"q": [1, 2]}, None)
    typed = InMemoryStateStore.from_dict(json.loads(_peer(PEER_TYPED_STATE)), JsonSerializer())
    assert await typed.get_state() == Child(a=5, b="q")


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_]{1,8}", fullmatch=True),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=4), c, max_size=3),
            max_leaves=10,
        ),
        max_size=5,
    )
)
def test_dict_state_snapshots_round_trip(values: dict[str, Any]) -> None:
    for serializer in (JsonSerializer(), PickleSerializer()):
        store = InMemoryStateStore(DictState(**values))
        restored = InMemoryStateStore.from_dict(store.to_dict(serializer), serializer)
        assert restored.get_sync("").to_dict() == values


@pytest.mark.parametrize(
    ("payload", "keys"),
    [
        ({}, {}),
        (
            {"state_type": "DictState", "state_module": "x", "state_data": {"_data": {"x": "1"}}},
            {"x": 1},
        ),
    ],
    ids=["empty", "no store_type"],
)
def test_lenient_snapshot_shapes(payload: dict[str, Any], keys: dict[str, Any]) -> None:
    store = InMemoryStateStore.from_dict(payload, JsonSerializer())
    assert store.state_type is DictState
    assert store.get_sync("").to_dict() == keys


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"store_type": "other", "state_data": {"_data": {}}}, "store_type 'other'"),
        (
            {"store_type": "in_memory", "state_type": "DictState", "state_data": {}},
            "Unrecognized state payload",
        ),
        (
            {"store_type": "in_memory", "state_type": "Child", "state_data": {"a": 5}},
            "Unrecognized state payload",
        ),
        ({"state_data": {"_data": {"x": "notjson"}}}, "state value for key 'x'"),
        ({"state_data": "[1, 2]"}, "not a pydantic model"),
    ],
    ids=["other store", "dict without _data", "typed as dict", "bad value", "not a model"],
)
def test_malformed_snapshots_raise_value_error(payload: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        InMemoryStateStore.from_dict(payload, JsonSerializer())


def test_locally_defined_state_types_restore_through_a_type_registry() -> None:
    class LocalState(BaseModel):
        count: int = 0

    snapshot = InMemoryStateStore(LocalState(count=3)).to_dict()
    with pytest.raises(ImportError):
        InMemoryStateStore.from_dict(snapshot, JsonSerializer())
    registry = {"LocalState": LocalState}
    restored = InMemoryStateStore.from_dict(snapshot, JsonSerializer(), type_registry=registry)
    assert restored.get_sync("count") == 3


async def test_an_unserializable_memory_key_is_skipped_with_a_warning() -> None:
    store = _dict_store(memory=threading.Lock(), k=1)
    with pytest.warns(UnserializableKeyWarning, match="memory"):
        snapshot = store.to_dict(JsonSerializer())
    assert snapshot["state_data"] == {"_data": {"k": "1"}}
    await store.set("memory", {"ok": 1})
    assert store.to_dict(JsonSerializer())["state_data"] == {
        "_data": {"memory": '{"ok": 1}', "k": "1"}
    }


def test_a_snapshot_of_an_unserializable_value_names_its_path() -> None:
    store = InMemoryStateStore(DictState(bad={"x": [object()]}), check_values=False)
    with pytest.raises(SerializationError) as info:
        store.to_dict(JsonSerializer())
    assert info.value.path == 'state.bad["x"][0]'
    typed = InMemoryStateStore(Timed(client=object()), check_values=False)
    with pytest.raises(SerializationError, match=r"state\.client"):
        typed.to_dict(JsonSerializer())
    assert "gASV" in typed.to_dict(PickleSerializer())["state_data"]


# -- reflow's early rejection (check_values) ----------------------------------------------------


async def test_set_rejects_an_unserializable_value_naming_its_path_and_keeps_the_state() -> None:
    store = _dict_store(customer={"name": "ada"})
    with pytest.raises(SerializationError) as info:
        await store.set("customer.client", threading.Lock())
    assert info.value.path == 'state.customer["client"]'
    assert await store.get("customer") == {"name": "ada"}
    with pytest.raises(SerializationError) as info:
        await store.set("new.deep", {"k": [1, object()]})
    assert info.value.path == 'state.new["deep"]["k"][1]'
    assert await store.get("new", "absent") == "absent"


async def test_typed_state_is_checked_as_a_whole_and_restored_on_failure() -> None:
    store = InMemoryStateStore(Timed())
    await store.set("when", datetime.datetime(2024, 1, 1))  # fine inside a model
    with pytest.raises(SerializationError, match=r"state\.client"):
        await store.set("client", object())
    assert await store.get("client") is None
    with pytest.raises(SerializationError, match=r'state\.notes\["a"\]'):
        await store.set("notes.a", object())
    assert await store.get("notes") == {}


async def test_values_under_a_model_in_a_dict_state_are_checked_in_context() -> None:
    store = _dict_store(t=Timed())
    await store.set("t.notes.when", datetime.datetime(2024, 1, 1))  # pydantic writes it
    with pytest.raises(SerializationError, match=r'state\.t\.notes\["bad"\]'):
        await store.set("t.notes.bad", object())
    assert set((await store.get("t.notes")).keys()) == {"when"}


async def test_set_state_and_edit_state_reject_unserializable_values() -> None:
    store = _dict_store(k=1)
    with pytest.raises(SerializationError, match=r"state\.bad"):
        await store.set_state(DictState(bad=object()))
    with pytest.raises(SerializationError, match=r"state\.items\[2\]"):
        async with store.edit_state() as state:
            state["items"] = [1, 2, object()]
    assert (await store.get_state()).to_dict() == {"k": 1}
    typed = InMemoryStateStore(Timed())
    with pytest.raises(SerializationError, match=r"state\.client"):
        await typed.set_state(Timed(client=object()))


async def test_the_check_follows_the_stores_serializer() -> None:
    when = datetime.datetime(2024, 1, 1)
    with pytest.raises(SerializationError):
        await _dict_store().set("when", when)
    pickled = InMemoryStateStore(DictState(), serializer=PickleSerializer())
    await pickled.set("when", when)
    await pickled.set("box.o", object())
    with pytest.raises(SerializationError, match=r'state\.box\["lock"\]'):
        await pickled.set("box.lock", threading.Lock())


async def test_check_values_false_accepts_anything_as_the_peer_does() -> None:
    store = InMemoryStateStore(DictState(), check_values=False)
    await store.set("o", object())
    await store.set_state(DictState(o=object()))
    async with store.edit_state() as state:
        state["lock"] = threading.Lock()
    assert isinstance(await store.get("lock"), type(threading.Lock()))


async def test_the_memory_key_is_exempt_from_the_check() -> None:
    store = _dict_store()
    await store.set("memory", threading.Lock())
    await store.set_state(DictState(memory=threading.Lock(), k=1))
    assert await store.get("k") == 1
