"""Models of plain scalars skip the serializability encoding and the deep copy; nothing else
does, and the outcome is the same either way."""

from __future__ import annotations

import asyncio
import threading
from typing import cast

import pytest
from pydantic import BaseModel, field_serializer

from reflow import Context, Workflow, step
from reflow.context._plain_models import copy_plain, is_plain
from reflow.context._serializability import DEFAULT_VALUE_CHECKER, check_serializable
from reflow.context.serializers import JsonSerializer
from reflow.context.state_store import DictState, InMemoryStateStore
from reflow.errors import SerializationError
from reflow.events import Event, StartEvent, StopEvent


class Scalars(Event):
    index: int
    label: str | None = None
    ratio: float = 0.5
    flag: bool = False


class Nested(Event):
    values_seen: list[int] = []


class Refusing(Event):
    n: int = 0

    @field_serializer("n")
    def _never(self, value: int) -> int:
        raise ValueError("no")


class Tally(BaseModel):
    seen: int = 0


def test_scalar_fields_of_their_own_types_are_plain() -> None:
    assert is_plain(Scalars(index=1))
    assert is_plain(Scalars(index=1, label="x", extra=3))  # a scalar in _data too
    assert is_plain(Tally())
    assert is_plain(StartEvent())


@pytest.mark.parametrize(
    "value",
    [
        Nested(),  # a list field
        Refusing(),  # a serializer of its own
        StopEvent(result=1),  # a private attribute besides _data
        Scalars(index=1, extra=object()),  # _data holds a non-scalar
        3,
        {"a": 1},
    ],
)
def test_anything_else_is_not_plain(value: object) -> None:
    assert not is_plain(value)


def test_a_field_holding_another_type_is_not_plain() -> None:
    event = Scalars(index=1)
    event.index = "one"  # type: ignore[assignment]  # no validation on assignment
    assert not is_plain(event)


def test_the_full_check_still_refuses_what_the_fast_path_does_not_cover() -> None:
    with pytest.raises(SerializationError):
        check_serializable(Refusing(), "event", JsonSerializer())
    with pytest.raises(SerializationError) as caught:
        check_serializable(Scalars(index=1, lock=threading.Lock()), "e", DEFAULT_VALUE_CHECKER)
    assert caught.value.path == "e.lock"


def test_a_plain_copy_is_independent_of_its_original() -> None:
    original = Scalars(index=1, note="a")
    draft = cast(Scalars, copy_plain(original))
    draft.index = 2
    draft["note"] = "b"
    assert (original.index, original["note"]) == (1, "a")
    assert draft == Scalars(index=2, note="b")


def test_edit_state_on_a_plain_state_leaves_readers_copies_alone() -> None:
    async def main() -> tuple[int, int]:
        store = InMemoryStateStore(Tally())
        before = await store.get_state()
        async with store.edit_state() as tally:
            tally.seen += 1
        return before.seen, (await store.get_state()).seen

    assert asyncio.run(main()) == (0, 1)


class _Counting(Workflow):
    @step
    async def count(self, ctx: Context[Tally], ev: StartEvent) -> Scalars | StopEvent:
        for _ in range(3):
            async with ctx.store.edit_state() as tally:
                tally.seen += 1
        ctx.send_event(Scalars(index=1))
        return StopEvent(result=(await ctx.store.get_state()).seen)

    @step
    async def ignore(self, ev: Scalars) -> None:
        return None


def test_a_run_editing_plain_state_sees_every_edit() -> None:
    async def main() -> object:
        return await _Counting(timeout=None).run()

    assert asyncio.run(main()) == 3


def test_dict_state_keys_are_still_checked_one_by_one() -> None:
    async def main() -> None:
        store = InMemoryStateStore(DictState(), serializer=JsonSerializer())
        with pytest.raises(SerializationError):
            await store.set("client", object())

    asyncio.run(main())
