"""Event models: the dict-like dynamic fields, stop/start events, step-state enum."""

from __future__ import annotations

import keyword
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import PrivateAttr

from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepState,
    StopEvent,
)


class Declared(Event):
    x: int = 0
    _secret: str = PrivateAttr(default="s")


def test_undeclared_kwargs_become_dynamic_fields() -> None:
    ev = Declared(x=1, foo="bar", _secret="hidden")
    assert (ev.x, ev.foo, ev["foo"], ev.get("foo")) == (1, "bar", "bar", "bar")
    assert ev._secret == "hidden"
    assert (ev.get("zz"), ev.get("zz", 3)) == (None, 3)


def test_mapping_view_covers_dynamic_fields_only() -> None:
    ev = Declared(x=1, foo="bar")
    assert "foo" in ev
    assert "x" not in ev
    assert (list(ev.keys()), list(ev.values()), list(ev.items())) == (
        ["foo"],
        ["bar"],
        [("foo", "bar")],
    )
    assert (len(ev), list(ev)) == (1, ["foo"])
    with pytest.raises(KeyError):
        ev["x"]  # declared fields are not part of the mapping view


def test_missing_dynamic_keys_raise_attribute_and_key_errors() -> None:
    ev = Declared()
    with pytest.raises(AttributeError) as info:
        _ = ev.nope
    assert str(info.value) == "'Declared' object has no attribute 'nope'"
    with pytest.raises(KeyError):
        _ = ev["nope"]


def test_assignment_routes_to_fields_or_dynamic_data() -> None:
    ev = Declared(x=1, foo="bar")
    ev.bar = 5
    ev["baz"] = 6
    ev.x = 7
    assert ev.x == 7
    assert ev.to_dict() == {"foo": "bar", "bar": 5, "baz": 6}


def test_to_dict_is_the_live_dynamic_dict() -> None:
    ev = Declared(foo=1)
    data = ev.to_dict()
    data["added"] = 2
    assert ev.added == 2


def test_empty_events_are_truthy() -> None:
    assert len(Declared()) == 0
    assert bool(Declared()) is True


def test_dump_includes_dynamic_data_only_when_present() -> None:
    assert Declared(x=1, foo="bar").model_dump() == {"x": 1, "_data": {"foo": "bar"}}
    assert Declared().model_dump() == {"x": 0}
    assert Declared(x=2, a=[1]).model_dump_json() == '{"x":2,"_data":{"a":[1]}}'


def test_json_round_trip_restores_dynamic_fields() -> None:
    ev = Declared(x=3, foo="bar", n=[1, 2])
    back = Declared.model_validate_json(ev.model_dump_json())
    assert back.x == 3
    assert back.to_dict() == {"foo": "bar", "n": [1, 2]}
    again = Declared.model_validate(ev.model_dump())
    assert again.to_dict() == {"foo": "bar", "n": [1, 2]}


def test_equality_includes_dynamic_data() -> None:
    assert Declared(x=1) == Declared(x=1)
    assert Declared(x=1, a=1) != Declared(x=1, a=2)


_names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: not keyword.iskeyword(name) and not hasattr(Event, name)
)


@given(st.dictionaries(_names, st.integers() | st.text(max_size=5), max_size=5))
def test_any_dynamic_payload_is_readable_three_ways(payload: dict[str, object]) -> None:
    ev = Event(**payload)
    assert ev.to_dict() == payload
    assert len(ev) == len(payload)
    for key, value in payload.items():
        assert getattr(ev, key) == value
        assert ev[key] == value
        assert ev.get(key) == value
    assert Event.model_validate_json(ev.model_dump_json()).to_dict() == payload


def test_start_event_keeps_run_kwargs_as_dynamic_data() -> None:
    ev = StartEvent(topic="t")
    assert ev.topic == "t"
    assert ev.model_dump() == {"_data": {"topic": "t"}}


def test_stop_event_result_repr_and_str() -> None:
    stop = StopEvent(result={"a": 1})
    assert stop.result == {"a": 1}
    assert stop.model_dump() == {"result": {"a": 1}}
    assert str(stop) == "{'a': 1}"
    assert repr(stop) == "StopEvent(result={'a': 1})"
    assert StopEvent().result is None


def test_stop_event_subclasses_may_compute_the_result() -> None:
    class Computed(StopEvent):
        def _get_result(self) -> str:
            return "computed"

    assert Computed(result=1).result == "computed"


def test_hitl_events_have_no_declared_fields() -> None:
    assert InputRequiredEvent(prefix="p").prefix == "p"
    assert HumanResponseEvent(response="r").response == "r"
    assert InputRequiredEvent.model_fields == {}
    assert HumanResponseEvent.model_fields == {}


def test_step_state_values() -> None:
    assert [(s.name, s.value) for s in StepState] == [
        ("PREPARING", "preparing"),
        ("RUNNING", "running"),
        ("NOT_RUNNING", "not_running"),
    ]


with warnings.catch_warnings():
    warnings.simplefilter("ignore", UserWarning)  # pydantic: the field shadows the property

    class FieldResultStop(StopEvent):
        result: str = "default"
        other: int = 0


def test_a_stop_event_subclass_may_declare_result_as_a_field() -> None:
    stop = FieldResultStop(result="x", other=2)
    assert stop.result == "x"
    assert repr(stop) == "FieldResultStop(result='x', other=2)"
    assert stop.model_dump() == {"result": "x", "other": 2}
