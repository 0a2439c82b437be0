"""Events built without fields share one empty fields-set and one empty ``_data`` until they are
written to; a write, a copy or a pickle gives the event its own, and nothing leaks between
events."""

from __future__ import annotations

import copy
import pickle

import pytest

from reflow._events.fast_init import NO_DATA, NO_FIELDS_SET
from reflow.events import Event, StartEvent


class Item(Event):
    n: int = 0


def test_events_without_fields_share_the_empty_ones() -> None:
    a, b = Item(), StartEvent()
    assert a.__pydantic_fields_set__ is NO_FIELDS_SET is b.__pydantic_fields_set__
    assert a.__pydantic_private__["_data"] is NO_DATA  # type: ignore[index]
    assert a.model_fields_set == set() and repr(a.model_fields_set) == "set()"
    assert Item(n=1).model_fields_set == {"n"}


def test_setting_a_field_gives_the_event_its_own_fields_set() -> None:
    a, b = Item(), Item()
    a.n = 2
    assert a.model_fields_set == {"n"}
    assert b.model_fields_set == set() and len(NO_FIELDS_SET) == 0


@pytest.mark.parametrize(
    "write",
    [
        lambda e: e.__setitem__("k", 1),
        lambda e: setattr(e, "k", 1),
        lambda e: e._data.__setitem__("k", 1),
        lambda e: e.to_dict().__setitem__("k", 1),
    ],
)
def test_writing_undeclared_keys_gives_the_event_its_own_data(write: object) -> None:
    a, b = Item(), Item()
    write(a)  # type: ignore[operator]
    assert a["k"] == 1 and a.k == 1 and dict(a.items()) == {"k": 1}
    assert "k" not in b and len(b) == 0 and len(NO_DATA) == 0


def test_reading_keeps_the_shared_data_and_equality_ignores_the_difference() -> None:
    a = Item()
    assert a.get("k") is None and list(a) == [] and "k" not in a and len(a) == 0
    assert a.__pydantic_private__["_data"] is NO_DATA  # type: ignore[index]
    b = Item()
    assert b._data == {}  # now b has a dict of its own
    assert a == b and a.model_dump() == b.model_dump() == {"n": 0}


@pytest.mark.parametrize(
    "duplicate",
    [copy.copy, copy.deepcopy, lambda e: pickle.loads(pickle.dumps(e)), lambda e: e.model_copy()],
)
def test_copies_are_writable_without_touching_the_original(duplicate: object) -> None:
    original = Item()
    twin = duplicate(original)  # type: ignore[operator]
    twin["k"] = 1
    twin.n = 3
    assert twin == Item(n=3, k=1)
    assert original == Item() and len(original) == 0 and original.model_fields_set == set()


def test_model_copy_with_an_update_records_the_field() -> None:
    assert Item().model_copy(update={"n": 4}).model_fields_set == {"n"}


def test_the_shared_objects_refuse_writes() -> None:
    with pytest.raises(TypeError):
        NO_FIELDS_SET.add("n")
    with pytest.raises(TypeError):
        NO_DATA["k"] = 1
    with pytest.raises(TypeError):
        NO_DATA.update(k=1)
