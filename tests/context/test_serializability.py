"""check_serializable: silent for good data, names the exact path of the first bad value."""

from __future__ import annotations

import datetime
import json
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict

from reflow.context._serializability import check_serializable
from reflow.context.serializers import JsonSerializer, PickleSerializer
from reflow.context.state_store import DictState
from reflow.errors import SerializationError
from reflow.events import Event, StepFailedEvent, StopEvent


class Customer(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    name: str = "ada"
    joined: datetime.datetime = datetime.datetime(2020, 1, 1)
    client: Any = None


class Item(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    conn: Any = None


class Order(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    customer: Customer = Customer()
    items: list[Item] = []
    notes: dict[str, Any] = {}


class CountingSerializer(JsonSerializer):
    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def serialize(self, value: Any) -> str:
        self.calls += 1
        return super().serialize(value)


def _path_of(value: Any, root: str, serializer: Any = None) -> str:
    with pytest.raises(SerializationError) as info:
        check_serializable(value, root, serializer or JsonSerializer())
    return info.value.path


json_data = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_data)
def test_plain_json_data_passes_with_a_single_serializer_call(value: Any) -> None:
    serializer = CountingSerializer()
    check_serializable(value, "state", serializer)
    assert serializer.calls == 1


def test_models_and_events_that_serialize_pass() -> None:
    serializer = CountingSerializer()
    check_serializable(Order(items=[Item(conn="dsn")]), "state", serializer)
    check_serializable(Event(when=datetime.datetime(2024, 1, 1)), "event", serializer)
    assert serializer.calls == 2


@pytest.mark.parametrize(
    ("value", "root", "expected"),
    [
        (DictState(customer=Customer(client=threading.Lock())), "state", "state.customer.client"),
        (
            DictState(items=[Item(), Item(), Item(), Item(conn=object())]),
            "state",
            "state.items[3].conn",
        ),
        (Event(payload={"k": object()}), "event", 'event.payload["k"]'),
        (StopEvent(result={"x": [1, object()]}), "event", 'event.result["x"][1]'),
        (Order(notes={"a": {"b": [0, {"c": object()}]}}), "state", 'state.notes["a"]["b"][1]["c"]'),
        ({"my key": object()}, "state", 'state["my key"]'),
        ({3: object()}, "state", "state[3]"),
        (DictState(**{"not an identifier": object()}), "state", 'state["not an identifier"]'),
        (object(), "state.x", "state.x"),
    ],
    ids=[
        "field of a model in a DictState key",
        "item of a list",
        "dict key of an event field",
        "stop event result",
        "deep inside a model's dict field",
        "dict key that is not an identifier",
        "int dict key",
        "DictState key that is not an identifier",
        "the value itself",
    ],
)
def test_the_first_bad_value_is_named_by_its_path(value: Any, root: str, expected: str) -> None:
    assert _path_of(value, root) == expected


def test_a_datetime_beside_the_bad_value_is_not_blamed() -> None:
    # JsonSerializer rejects a bare datetime, but inside a model pydantic writes it fine.
    customer = Customer(joined=datetime.datetime(2024, 5, 1), client=object())
    assert _path_of(customer, "state") == "state.client"


def test_fields_with_their_own_serializer_are_not_blamed() -> None:
    # StepFailedEvent.exception is written through an annotated serializer.
    event = StepFailedEvent(
        step_name="s",
        input_event=Event(),
        exception=ValueError("x"),
        attempts=1,
        elapsed_seconds=0.1,
        failed_at=datetime.datetime.now(datetime.timezone.utc),
        extra=object(),
    )
    assert _path_of(event, "event") == "event.extra"


def test_a_container_whose_parts_pass_is_blamed_as_a_whole() -> None:
    assert _path_of({"t": (1, Item())}, "state") == 'state["t"]'
    assert _path_of({"d": {("a", 1): 1}}, "state") == 'state["d"]'
    assert _path_of({"s": {1, 2}}, "state") == 'state["s"]'


def test_cycles_are_reported_where_they_close() -> None:
    loop: dict[str, Any] = {"a": 1}
    loop["again"] = loop
    with pytest.raises(SerializationError, match="circular reference") as info:
        check_serializable({"outer": loop}, "state", JsonSerializer())
    assert info.value.path == 'state["outer"]["again"]'


def test_the_reason_says_what_the_value_is_and_which_serializer_refused() -> None:
    with pytest.raises(SerializationError) as info:
        check_serializable({"lock": threading.Lock()}, "state", JsonSerializer())
    error = info.value
    assert isinstance(error, ValueError)
    assert "'lock'" in error.reason and "JsonSerializer" in error.reason
    assert str(error).startswith('Cannot serialize the value at state["lock"]: ')


def test_pickle_serializer_accepts_what_pickle_can_encode() -> None:
    check_serializable(
        {"o": object(), "when": datetime.datetime(2024, 1, 1)}, "state", PickleSerializer()
    )


def test_pickle_serializer_blames_what_pickle_cannot_encode() -> None:
    value = {"a": [1, {"b": threading.Lock()}], "fine": object()}
    assert _path_of(value, "state", PickleSerializer()) == 'state["a"][1]["b"]'
    customer = Customer(joined=datetime.datetime(2024, 1, 1), client=threading.Lock())
    assert _path_of(customer, "state", PickleSerializer()) == "state.client"


def test_very_deep_nesting_stops_with_a_clear_reason() -> None:
    value: Any = object()
    for _ in range(400):
        value = [value]
    with pytest.raises(SerializationError) as info:
        check_serializable(value, "state", JsonSerializer())
    assert info.value.path.startswith("state[0][0]")
    assert "nested too deeply" in info.value.reason


# A path into nested dicts and lists: ("key", name) or ("index", position).
steps = st.lists(
    st.one_of(
        st.tuples(st.just("key"), st.text(min_size=1, max_size=6)),
        st.tuples(st.just("index"), st.integers(min_value=0, max_value=3)),
    ),
    min_size=1,
    max_size=6,
)


@given(steps, st.data())
def test_one_bad_value_anywhere_in_json_data_is_found_at_its_path(
    path_steps: list[tuple[str, Any]], data: st.DataObject
) -> None:
    value: Any = object()
    expected = ""
    for kind, where in reversed(path_steps):
        filler = data.draw(st.lists(json_data, min_size=0, max_size=3))
        if kind == "key":
            container = {f"filler-{i}-{where}": item for i, item in enumerate(filler)}
            container[where] = value
            expected = f"[{json.dumps(where, ensure_ascii=False)}]" + expected
        else:
            container_list = [*filler[:where], value, *filler[where:]]
            position = min(where, len(filler))
            container = container_list  # type: ignore[assignment]
            expected = f"[{position}]" + expected
        value = container
    assert _path_of(value, "state") == "state" + expected


# -- one-shot iterators: the quick test and the path-naming walk agree -----------------------

_one_shot_leaves = st.one_of(
    st.integers(),
    st.text(max_size=5),
    st.none(),
    st.builds(lambda: (n for n in range(2))),
    st.builds(lambda: iter([1])),
)


@given(
    st.recursive(
        _one_shot_leaves,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.lists(inner, max_size=3).map(tuple),
            st.dictionaries(st.text(max_size=3), inner, max_size=3),
            inner.map(lambda v: DictState(_data={"k": v})),
            inner.map(lambda v: Customer(client=v)),
        ),
        max_leaves=12,
    )
)
def test_quick_one_shot_check_agrees_with_the_walk_that_names_the_path(value: Any) -> None:
    from reflow.context._serializability import _find_one_shot, _holds_one_shot

    try:
        _find_one_shot(value, "state")
    except SerializationError:
        named = True
    else:
        named = False
    assert _holds_one_shot(value) is named
