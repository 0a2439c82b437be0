"""A value that cannot be serialized is refused when it is stored or sent, naming its path.

The peer accepts it and fails later, inside a snapshot, with a pickle error that does not
say where the value is.  reflow raises ``SerializationError`` (a ``ValueError`` with
``.path``) from ``ctx.send_event`` / ``handler.send_event``, and, once a serializer was chosen
(or under a durable runtime), from ``ctx.store.set`` / ``set_state`` / ``edit_state``, leaving
the state as it was.  (In memory with no serializer chosen the store keeps such values by
reference instead: ``test_unserializable_state.py``.)

The rule: with no serializer chosen, an event is refused at once only when neither JSON nor
pickle can encode it; with ``Workflow(serializer=JsonSerializer())`` anything JSON cannot
encode is refused.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field

from reflow import Context, Workflow, step
from reflow.context.serializers import JsonSerializer, PickleSerializer
from reflow.errors import SerializationError
from reflow.events import Event, HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent

from ._support import answer_prompts


class Carry(Event):
    payload: Any = None


class Customer(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str = ""
    client: Any = None


class Account(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    customer: Customer = Field(default_factory=Customer)
    tags: list[Any] = Field(default_factory=list)


class Point:
    """Pickle can encode it (a module-level class), JSON cannot."""

    def __init__(self, x: int) -> None:
        self.x = x


StepAction = Callable[[Context[Any]], Awaitable[Any]]


class RunsAction(Workflow):
    """Runs one action inside a step and returns the path of the error it raised."""

    def __init__(self, action: StepAction, **kwargs: Any) -> None:
        # A serializer chosen explicitly: stored values are refused at once.  Pickle refuses
        # exactly what the default check refuses for events (neither JSON nor pickle).
        kwargs.setdefault("serializer", PickleSerializer())
        super().__init__(timeout=5, **kwargs)
        self.action = action

    @step
    async def act(self, ctx: Context, ev: StartEvent) -> StopEvent:
        try:
            await self.action(ctx)
        except SerializationError as error:
            return StopEvent(result=(error.path, await ctx.store.get("", default=None)))
        return StopEvent(result=("accepted", await ctx.store.get("", default=None)))


class TypedState(Workflow):
    def __init__(self, action: Callable[[Context[Account]], Awaitable[Any]]) -> None:
        super().__init__(timeout=5, serializer=PickleSerializer())
        self.action = action

    @step
    async def act(self, ctx: Context[Account], ev: StartEvent) -> StopEvent:
        try:
            await self.action(ctx)
        except SerializationError as error:
            return StopEvent(result=(error.path, (await ctx.store.get_state()).model_dump()))
        return StopEvent(result="accepted")


@pytest.fixture
def lock() -> Iterator[Any]:
    yield threading.Lock()


def _set(path: str, value: Any) -> StepAction:
    async def action(ctx: Context[Any]) -> None:
        await ctx.store.set(path, value)

    return action


# -- paths at several depths --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "build", "expected"),
    [
        ("client", lambda bad: bad, "state.client"),
        ("customer", lambda bad: {"name": "a", "client": bad}, 'state.customer["client"]'),
        ("customer.client", lambda bad: bad, 'state.customer["client"]'),
        ("a.b", lambda bad: [1, {"c": bad}], 'state.a["b"][1]["c"]'),
        ("deep", lambda bad: {"x": [[{"y z": (0, bad)}]]}, 'state.deep["x"][0][0]["y z"][1]'),
    ],
)
async def test_store_set_names_the_path_of_the_bad_value(
    path: str, build: Callable[[Any], Any], expected: str, lock: Any
) -> None:
    failed_at, state = await RunsAction(_set(path, build(lock))).run()
    assert failed_at == expected
    assert state.to_dict() == {}  # nothing was written


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("customer.client", "LOCK", "state.customer.client"),
        ("customer", "CUSTOMER", "state.customer.client"),
        ("tags", "TAGS", 'state.tags[1]["a"]'),
    ],
)
async def test_typed_state_paths_follow_model_fields(path: str, value: str, expected: str) -> None:
    bad = threading.Lock()
    values = {"LOCK": bad, "CUSTOMER": Customer(name="x", client=bad), "TAGS": [1, {"a": bad}]}

    async def action(ctx: Context[Account]) -> None:
        await ctx.store.set(path, values[value])

    failed_at, state = await TypedState(action).run()
    assert failed_at == expected
    assert state == Account().model_dump()


async def test_set_state_refuses_a_model_holding_a_bad_value_and_keeps_the_old_state() -> None:
    async def action(ctx: Context[Account]) -> None:
        await ctx.store.set("customer.name", "kept")
        await ctx.store.set_state(Account(customer=Customer(name="new", client=threading.Lock())))

    failed_at, state = await TypedState(action).run()
    assert failed_at == "state.customer.client"
    assert state["customer"]["name"] == "kept"


async def test_edit_state_is_refused_when_the_block_exits_and_nothing_is_committed() -> None:
    async def action(ctx: Context[Any]) -> None:
        await ctx.store.set("kept", 1)
        async with ctx.store.edit_state() as state:
            state["kept"] = 2
            state["conn"] = {"pool": [threading.Lock()]}

    failed_at, state = await RunsAction(action).run()
    assert failed_at == 'state.conn["pool"][0]'
    assert state.to_dict() == {"kept": 1}


async def test_a_step_sending_an_event_with_a_bad_value_fails_at_the_send(lock: Any) -> None:
    async def action(ctx: Context[Any]) -> None:
        ctx.send_event(Carry(payload={"k": [1, lock]}))
        await ctx.store.set("after_send", True)  # not reached

    failed_at, state = await RunsAction(action).run()
    assert failed_at == 'event.payload["k"][1]'
    assert state.to_dict() == {}


class AwaitsCarry(Workflow):
    @step
    async def wait(self, ctx: Context, ev: StartEvent) -> StopEvent:
        got = await ctx.wait_for_event(Carry, waiter_event=InputRequiredEvent())
        return StopEvent(result=got.payload)


async def test_handler_send_event_refuses_a_bad_value_before_it_enters_the_run() -> None:
    handler = AwaitsCarry(timeout=5).run()
    refused: list[str] = []
    async for event in handler.stream_events():
        if isinstance(event, InputRequiredEvent):
            with pytest.raises(SerializationError) as caught:
                await handler.send_event(Carry(payload=[{"ok": 1}, {"conn": threading.Lock()}]))
            refused.append(caught.value.path)
            await handler.send_event(Carry(payload="fine"))
    assert refused == ['event.payload[1]["conn"]']
    assert await handler == "fine"


# -- which values are refused ---------------------------------------------------------------


def _unencodable() -> list[Any]:
    return [threading.Lock(), socket.socket(), (i for i in range(3)), lambda: 1]


@pytest.mark.parametrize("index", range(4), ids=["lock", "socket", "generator", "lambda"])
async def test_values_neither_json_nor_pickle_can_encode_are_refused_by_pickle(
    index: int,
) -> None:
    values = _unencodable()
    try:
        failed_at, _ = await RunsAction(_set("thing", {"inner": values[index]})).run()
    finally:
        values[1].close()
    assert failed_at == 'state.thing["inner"]'


PICKLE_ONLY: list[Any] = [datetime.datetime(2024, 1, 2), {1, 2}, Point(3), b"bytes"]


@pytest.mark.parametrize("value", PICKLE_ONLY, ids=["datetime", "set", "object", "bytes"])
async def test_pickle_only_values_are_accepted_by_pickle(value: Any) -> None:
    outcome, _ = await RunsAction(_set("thing", [value])).run()
    assert outcome == "accepted"


@pytest.mark.parametrize("value", PICKLE_ONLY, ids=["datetime", "set", "object", "bytes"])
async def test_an_explicit_json_serializer_refuses_anything_json_cannot_encode(value: Any) -> None:
    strict = RunsAction(_set("thing", [value]), serializer=JsonSerializer())
    failed_at, state = await strict.run()
    assert failed_at == "state.thing[0]"
    assert state.to_dict() == {}


async def test_an_explicit_json_serializer_refuses_such_events_at_the_send() -> None:
    async def action(ctx: Context[Any]) -> None:
        # Inside an event values are encoded by pydantic, so a datetime is JSON there.
        ctx.send_event(Carry(payload={"when": datetime.datetime(2024, 1, 2), "at": Point(1)}))

    default_outcome, _ = await RunsAction(action, serializer=None).run()
    strict_outcome, _ = await RunsAction(action, serializer=JsonSerializer()).run()
    assert default_outcome == "accepted"
    assert strict_outcome == 'event.payload["at"]'


class Receives(Workflow):
    """``send`` emits a ``Carry`` holding a generator; ``receive`` reads what arrived."""

    @step
    async def send(self, ctx: Context, ev: StartEvent) -> Carry | None:
        try:
            ctx.send_event(Carry(payload=(i for i in range(3))))
        except SerializationError as error:
            return Carry(payload=("refused", error.path))
        return None

    @step
    async def receive(self, ev: Carry) -> StopEvent:
        return StopEvent(result=tuple(ev.payload))


async def test_a_generator_in_a_sent_event_is_refused_not_silently_drained() -> None:
    # Checking the event must not consume the generator: either it is refused at the send,
    # as a value neither JSON nor pickle can encode, or it arrives intact.
    assert await Receives(timeout=5).run() == ("refused", "event.payload")


async def test_a_generator_in_a_typed_state_field_is_refused_not_silently_drained() -> None:
    async def action(ctx: Context[Account]) -> None:
        await ctx.store.set("customer.client", (i for i in range(3)))

    outcome = await TypedState(action).run()
    assert outcome == ("state.customer.client", Account().model_dump())


async def test_a_json_snapshot_of_a_pickle_only_value_names_its_path() -> None:
    class Keeps(Workflow):
        @step
        async def keep(self, ctx: Context, ev: StartEvent) -> StopEvent:
            await ctx.store.set("geo", {"home": [Point(1)]})
            reply = await ctx.wait_for_event(HumanResponseEvent, waiter_event=InputRequiredEvent())
            return StopEvent(result=reply.response)

    handler = Keeps(timeout=5).run()
    paths: list[str] = []

    def snapshot_then_answer(prompt: InputRequiredEvent) -> Event:
        assert handler.ctx is not None
        with pytest.raises(SerializationError) as caught:
            handler.ctx.to_dict(serializer=JsonSerializer())
        paths.append(caught.value.path)
        assert handler.ctx.to_dict(serializer=PickleSerializer())["is_running"] is True
        return HumanResponseEvent(response="ok")

    await answer_prompts(handler, snapshot_then_answer)
    assert await handler == "ok"
    assert paths == ['state.geo["home"][0]']


def test_serialization_error_is_a_value_error_naming_its_path() -> None:
    error = SerializationError("state.customer.client", "a lock")
    assert isinstance(error, ValueError)
    assert error.path == "state.customer.client"
    assert "state.customer.client" in str(error)


# -- any single bad value anywhere is found at its path ------------------------------------

json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=4), st.floats(allow_nan=False)
)
segment = st.one_of(
    st.tuples(st.just("key"), st.text(max_size=4)),
    st.tuples(st.just("index"), st.integers(min_value=0, max_value=3)),
)
bad_values = st.sampled_from(["lock", "generator", "lambda"])


def _make_bad(kind: str) -> Any:
    if kind == "lock":
        return threading.Lock()
    if kind == "generator":
        return (i for i in range(2))
    return lambda: None


@settings(max_examples=60, deadline=None)
@given(st.lists(segment, max_size=5), bad_values, st.data())
def test_one_bad_value_anywhere_is_refused_at_its_path(
    segments: list[tuple[str, Any]], bad_kind: str, data: st.DataObject
) -> None:
    value = _make_bad(bad_kind)
    for kind, where in reversed(segments):
        if kind == "key":
            siblings = data.draw(st.dictionaries(st.text(max_size=4), json_leaves, max_size=3))
            siblings.pop(where, None)
            value = {**siblings, where: value}
        else:
            before = data.draw(st.lists(json_leaves, min_size=where, max_size=where))
            after = data.draw(st.lists(json_leaves, max_size=2))
            value = [*before, value, *after]
    expected = "state.top" + "".join(
        f"[{json.dumps(where, ensure_ascii=False)}]" if kind == "key" else f"[{where}]"
        for kind, where in segments
    )

    async def store_it() -> tuple[str, Any]:
        ctx: Context[Any] = Context(RunsAction(_set("top", None)))
        await ctx.store.set("kept", 1)
        with pytest.raises(SerializationError) as caught:
            await ctx.store.set("top", value)
        return caught.value.path, await ctx.store.get("", default=None)

    path, state = asyncio.run(store_it())
    assert path == expected
    assert state.to_dict() == {"kept": 1}
