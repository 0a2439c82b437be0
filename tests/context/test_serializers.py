"""JsonSerializer / PickleSerializer: the peer's exact strings, round trips, class resolution."""

from __future__ import annotations

import base64
import datetime
import json
import pickle
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from reflow._type_names.resolution import resolve_serialized_class
from reflow.context.serializers import (
    BaseSerializer,
    JsonPickleSerializer,
    JsonSerializer,
    PickleSerializer,
)
from reflow.events import Event, StartEvent, StopEvent


class Inner(BaseModel):
    x: int = 1
    when: datetime.datetime | None = None


class Outer(BaseModel):
    inner: Inner = Inner()
    items: list[Inner] = []


class MyEv(Event):
    a: int = 0


class Comp:
    """Shaped like a llama-index component: class_name(), to_dict(), from_dict()."""

    def __init__(self, v: int = 1) -> None:
        self.v = v

    @classmethod
    def class_name(cls) -> str:
        return "CompName"

    def to_dict(self) -> dict[str, Any]:
        return {"v": self.v, "class_name": "CompName"}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comp:
        return cls(data["v"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Comp) and other.v == self.v

    __hash__ = None  # type: ignore[assignment]


class CompWithoutFromDict:
    @classmethod
    def class_name(cls) -> str:
        return "X"

    def to_dict(self) -> dict[str, Any]:
        return {"a": 1}


def _utc(year: int, month: int, day: int, *hms: int) -> datetime.datetime:
    hour, minute, second = (*hms, 0, 0, 0)[:3]
    return datetime.datetime(year, month, day, hour, minute, second, tzinfo=datetime.timezone.utc)


# Output of llama-index-workflows 2.26.1's JsonSerializer().serialize(value), measured with the
# classes above defined in ``__main__``.  Only the module names differ in reflow.
PEER_JSON: list[tuple[str, Any, str]] = [
    (
        "dict",
        {"a": 1, "b": [1, 2, {"c": "d"}], "e": None},
        '{"a": 1, "b": [1, 2, {"c": "d"}], "e": null}',
    ),
    ("int", 5, "5"),
    ("str", "héllo ✓", '"h\\u00e9llo \\u2713"'),
    ("none", None, "null"),
    ("float", 1.5, "1.5"),
    ("bool", True, "true"),
    ("tuple", (1, "x"), '[1, "x"]'),
    (
        "scalar keys",
        {1: "a", 2.5: "b", None: "c", False: "d"},
        '{"1": "a", "2.5": "b", "null": "c", "false": "d"}',
    ),
    ("inf", float("-inf"), "-Infinity"),
    (
        "model",
        Inner(x=3, when=_utc(2024, 1, 2, 3, 4, 5)),
        '{"__is_pydantic": true, "value": {"x": 3, "when": "2024-01-02T03:04:05Z"}, '
        '"qualified_name": "__main__.Inner"}',
    ),
    (
        "nested models",
        Outer(inner=Inner(x=2), items=[Inner(x=5)]),
        '{"__is_pydantic": true, "value": {"inner": {"x": 2, "when": null}, "items": [{"x": 5, '
        '"when": null}]}, "qualified_name": "__main__.Outer"}',
    ),
    (
        "event with dynamic fields",
        MyEv(a=3, foo="bar", n={"z": [1]}),
        '{"__is_pydantic": true, "value": {"a": 3, "_data": {"foo": "bar", "n": {"z": [1]}}}, '
        '"qualified_name": "__main__.MyEv"}',
    ),
    (
        "event with non-JSON dynamic fields",
        MyEv(s={3}, d=_utc(2024, 1, 2), b=b"ab", t=(1, 2), m=Inner()),
        '{"__is_pydantic": true, "value": {"a": 0, "_data": {"s": [3], '
        '"d": "2024-01-02T00:00:00Z", "b": "ab", "t": [1, 2], "m": {"x": 1, "when": null}}}, '
        '"qualified_name": "__main__.MyEv"}',
    ),
    (
        "stop with dict result",
        StopEvent(result={"r": 1}),
        '{"__is_pydantic": true, "value": {"result": {"r": 1}}, '
        '"qualified_name": "workflows.events.StopEvent"}',
    ),
    (
        "stop with model result",
        StopEvent(result=Inner(x=9)),
        '{"__is_pydantic": true, "value": {"result": {"x": 9, "when": null}}, '
        '"qualified_name": "workflows.events.StopEvent"}',
    ),
    (
        "stop without result",
        StopEvent(),
        '{"__is_pydantic": true, "value": {}, "qualified_name": "workflows.events.StopEvent"}',
    ),
    (
        "stop with str result (its dynamic fields are not dumped)",
        StopEvent(result="done", extra=1),
        '{"__is_pydantic": true, "value": {"result": "done"}, '
        '"qualified_name": "workflows.events.StopEvent"}',
    ),
    (
        "start",
        StartEvent(topic="x", n=2),
        '{"__is_pydantic": true, "value": {"_data": {"topic": "x", "n": 2}}, '
        '"qualified_name": "workflows.events.StartEvent"}',
    ),
    (
        "models inside dicts and lists",
        {"m": Inner(x=4), "l": [Inner(x=1), {"k": Inner()}]},
        '{"m": {"__is_pydantic": true, "value": {"x": 4, "when": null}, "qualified_name": '
        '"__main__.Inner"}, "l": [{"__is_pydantic": true, "value": {"x": 1, "when": null}, '
        '"qualified_name": "__main__.Inner"}, {"k": {"__is_pydantic": true, "value": {"x": 1, '
        '"when": null}, "qualified_name": "__main__.Inner"}}]}',
    ),
    (
        "component",
        Comp(3),
        '{"__is_component": true, "value": {"v": 3, "class_name": "CompName"}, '
        '"qualified_name": "__main__.Comp"}',
    ),
    (
        "component in a list in a dict",
        {"c": [Comp(2)]},
        '{"c": [{"__is_component": true, "value": {"v": 2, "class_name": "CompName"}, '
        '"qualified_name": "__main__.Comp"}]}',
    ),
]

# Peer's error messages for values JSON cannot hold, and its PickleSerializer payloads.
PEER_REJECTED: list[tuple[Any, str, str]] = [
    ({1, 2}, "Failed to serialize value: <class 'set'>: {1, 2}", "gASVCQAAAAAAAACPlChLAUsCkC4="),
    (b"abc", "Failed to serialize value: <class 'bytes'>: b'abc'", "gASVBwAAAAAAAABDA2FiY5Qu"),
    (
        datetime.datetime(2024, 1, 2, 3, 4, 5),
        "Failed to serialize value: <class 'datetime.datetime'>: 2024-01-02 03:04:05",
        "gASVKgAAAAAAAACMCGRhdGV0aW1llIwIZGF0ZXRpbWWUk5RDCgfoAQIDBAUAAACUhZRSlC4=",
    ),
    (
        datetime.date(2024, 1, 2),
        "Failed to serialize value: <class 'datetime.date'>: 2024-01-02",
        "gASVIAAAAAAAAACMCGRhdGV0aW1llIwEZGF0ZZSTlEMEB+gBApSFlFKULg==",
    ),
]


def _local(expected: str) -> str:
    return expected.replace("__main__.", f"{__name__}.").replace(
        "workflows.events.", "reflow.events."
    )


json_data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)


# -- exact strings ------------------------------------------------------------------------------


@pytest.mark.parametrize(("label", "value", "expected"), PEER_JSON, ids=[c[0] for c in PEER_JSON])
def test_json_output_is_byte_for_byte_the_peers(label: str, value: Any, expected: str) -> None:
    assert JsonSerializer().serialize(value) == _local(expected)


def test_nan_is_written_as_the_peer_does() -> None:
    assert JsonSerializer().serialize(float("nan")) == "NaN"


@given(json_data)
def test_plain_data_is_written_exactly_as_json_dumps_writes_it(value: Any) -> None:
    assert JsonSerializer().serialize(value) == json.dumps(value)


@pytest.mark.parametrize(("value", "message", "_payload"), PEER_REJECTED)
def test_values_json_cannot_hold_raise_the_peers_value_error(
    value: Any, message: str, _payload: str
) -> None:
    with pytest.raises(ValueError) as info:
        JsonSerializer().serialize(value)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "value",
    [object(), ValueError("boom"), (Inner(),), {"a": threading.Lock()}, [1, object()]],
    ids=["object", "exception", "tuple holding a model", "lock in dict", "object in list"],
)
def test_anything_else_that_is_not_json_raises_value_error(value: Any) -> None:
    with pytest.raises(ValueError, match=r"^Failed to serialize value: <class '"):
        JsonSerializer().serialize(value)


def test_the_error_message_is_kept_short_for_huge_values() -> None:
    with pytest.raises(ValueError) as info:
        JsonSerializer().serialize({"k": "x" * 10_000, "o": object()})
    assert len(str(info.value)) < 500


# -- reading back -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "value", "expected"),
    [c for c in PEER_JSON if c[0] not in {"inf", "tuple", "scalar keys"}],
    ids=[c[0] for c in PEER_JSON if c[0] not in {"inf", "tuple", "scalar keys"}],
)
def test_peer_strings_read_back_into_equal_values(label: str, value: Any, expected: str) -> None:
    restored = JsonSerializer().deserialize(_local(expected))
    assert type(restored) is type(value)
    if isinstance(value, BaseModel):
        if isinstance(value, StopEvent) and isinstance(value.result, BaseModel):
            # The peer's format keeps only the result's fields, not its class.
            assert restored.result == value.result.model_dump(mode="json")
        elif label == "event with non-JSON dynamic fields":
            assert restored.model_dump(mode="json") == value.model_dump(mode="json")
        else:
            assert restored.model_dump() == value.model_dump()
    else:
        assert restored == value


def test_peer_package_names_resolve_to_reflow_classes() -> None:
    restored = JsonSerializer().deserialize(
        '{"__is_pydantic": true, "value": {"result": {"r": 1}}, '
        '"qualified_name": "workflows.events.StopEvent"}'
    )
    assert type(restored) is StopEvent
    assert restored.result == {"r": 1}


def test_events_keep_their_dynamic_fields_through_a_round_trip() -> None:
    serializer = JsonSerializer()
    restored = serializer.deserialize(serializer.serialize(MyEv(a=2, topic="t", n=[1, 2])))
    assert isinstance(restored, MyEv)
    assert (restored.a, restored.topic, restored["n"]) == (2, "t", [1, 2])


def test_tuples_come_back_as_lists_and_scalar_keys_as_strings() -> None:
    serializer = JsonSerializer()
    assert serializer.deserialize(serializer.serialize((1, 2))) == [1, 2]
    assert serializer.deserialize(serializer.serialize({1: "a"})) == {"1": "a"}


@given(json_data)
def test_plain_data_round_trips(value: Any) -> None:
    for serializer in (JsonSerializer(), PickleSerializer()):
        assert serializer.deserialize(serializer.serialize(value)) == value


def test_a_tagged_dict_without_qualified_name_is_left_as_it_is() -> None:
    assert JsonSerializer().deserialize('{"__is_pydantic": true, "value": {}}') == {
        "__is_pydantic": True,
        "value": {},
    }


def test_a_tag_naming_something_that_is_not_a_model_is_rejected() -> None:
    with pytest.raises(ValueError, match="not one"):
        JsonSerializer().deserialize(
            '{"__is_pydantic": true, "value": {}, "qualified_name": "builtins.dict"}'
        )
    with pytest.raises(ValueError, match="does not name a class"):
        JsonSerializer().deserialize(
            '{"__is_pydantic": true, "value": {}, "qualified_name": "os.sep"}'
        )


def test_components_round_trip_through_from_dict() -> None:
    serializer = JsonSerializer()
    assert serializer.deserialize(serializer.serialize({"c": [Comp(7)]})) == {"c": [Comp(7)]}


def test_a_component_without_from_dict_cannot_be_read_back() -> None:
    serializer = JsonSerializer()
    text = serializer.serialize(CompWithoutFromDict())
    assert json.loads(text)["value"] == {"a": 1}
    with pytest.raises(ValueError, match="from_dict"):
        serializer.deserialize(text)


def test_an_event_field_called_class_name_does_not_make_it_a_component() -> None:
    text = JsonSerializer().serialize(MyEv(class_name="x"))
    assert json.loads(text)["__is_pydantic"] is True


def test_serialize_value_and_deserialize_value_work_on_structured_data() -> None:
    serializer = JsonSerializer()
    structured = serializer.serialize_value({"m": [Inner(x=2)], "s": {1}})
    assert structured == {
        "m": [
            {
                "__is_pydantic": True,
                "value": {"x": 2, "when": None},
                "qualified_name": f"{__name__}.Inner",
            }
        ],
        "s": {1},  # left for the caller: serialize_value only converts models and components
    }
    assert serializer.deserialize_value(structured) == {"m": [Inner(x=2)], "s": {1}}


# -- pickle -------------------------------------------------------------------------------------


def test_pickle_serializer_writes_json_when_it_can() -> None:
    for _label, value, expected in PEER_JSON:
        assert PickleSerializer().serialize(value) == _local(expected)


@pytest.mark.parametrize(("value", "_message", "peer_payload"), PEER_REJECTED)
def test_pickle_serializer_falls_back_to_base64_pickle(
    value: Any, _message: str, peer_payload: str
) -> None:
    serializer = PickleSerializer()
    payload = serializer.serialize(value)
    assert payload == base64.b64encode(pickle.dumps(value)).decode()
    assert serializer.deserialize(payload) == value
    assert serializer.deserialize(peer_payload) == value  # payloads the peer wrote


def test_pickle_fallback_keeps_the_original_types() -> None:
    serializer = PickleSerializer()
    value = {"ev": StopEvent(result=1), "s": {1}}
    restored = serializer.deserialize(serializer.serialize(value))
    assert restored["s"] == {1}
    assert isinstance(restored["ev"], StopEvent)
    assert restored["ev"].result == 1


def test_pickle_serializer_reads_json_text() -> None:
    serializer = PickleSerializer()
    assert serializer.deserialize('{"a": 1}') == {"a": 1}
    assert serializer.deserialize("null") is None
    assert serializer.deserialize("1234") == 1234
    assert serializer.deserialize("true") is True


def test_pickle_serializer_reports_unpicklable_values_as_value_error() -> None:
    with pytest.raises(ValueError, match="cannot pickle"):
        PickleSerializer().serialize(threading.Lock())


def test_pickle_serializer_rejects_text_that_is_neither() -> None:
    with pytest.raises(ValueError):
        PickleSerializer().deserialize("abcd")


def test_json_pickle_serializer_is_the_old_name() -> None:
    assert JsonPickleSerializer is PickleSerializer


def test_base_serializer_is_abstract_and_subclassable() -> None:
    with pytest.raises(TypeError):
        BaseSerializer()  # type: ignore[abstract]

    class Upper(BaseSerializer):
        def serialize(self, value: Any) -> str:
            return str(value).upper()

        def deserialize(self, value: str) -> Any:
            return value.lower()

    upper = Upper()
    with upper.validation_context():
        assert upper.deserialize(upper.serialize("ab")) == "ab"


# -- finding classes ----------------------------------------------------------------------------


def _make_local_event() -> type[Event]:
    class LocalEvent(Event):
        a: int = 0

    return LocalEvent


def _make_other_local_event() -> type[Event]:
    class LocalEvent(Event):
        b: int = 0

    return LocalEvent


LocalEvent = _make_local_event()
LOCAL_NAME = f"{__name__}._make_local_event.<locals>.LocalEvent"
PEER_LOCAL_NAME = f"{__name__}.LocalEvent"  # the peer writes __name__, not __qualname__


def _local_text() -> str:
    return JsonSerializer().serialize(LocalEvent(a=2, z=3))


def test_locally_defined_classes_are_written_under_their_qualname() -> None:
    assert json.loads(_local_text())["qualified_name"] == LOCAL_NAME


def test_locally_defined_classes_cannot_be_imported_and_the_error_says_what_to_do() -> None:
    with pytest.raises(ImportError, match=r"inside a function.*allowed_types"):
        JsonSerializer().deserialize(_local_text())


@pytest.mark.parametrize(
    "serializer",
    [
        JsonSerializer(allowed_types=[LocalEvent]),
        JsonSerializer().with_types(LocalEvent),
        JsonSerializer(allowed_types=[]).with_types(LocalEvent),
        PickleSerializer(allowed_types=[LocalEvent]),
    ],
    ids=["allowed_types", "with_types", "with_types on restricted", "pickle allowed_types"],
)
def test_registered_classes_resolve_by_name(serializer: JsonSerializer) -> None:
    restored = serializer.deserialize(_local_text())
    assert type(restored) is LocalEvent
    assert (restored.a, restored.z) == (2, 3)
    peer_form = _local_text().replace(LOCAL_NAME, PEER_LOCAL_NAME)
    assert type(serializer.deserialize(peer_form)) is LocalEvent


def test_with_types_returns_a_new_serializer_of_the_same_kind() -> None:
    original = PickleSerializer()
    extended = original.with_types(LocalEvent)
    assert type(extended) is PickleSerializer
    assert extended is not original
    with pytest.raises(ImportError):
        original.deserialize(_local_text())


@pytest.mark.parametrize("key", [LOCAL_NAME, "anything"])
def test_type_registry_resolves_per_call(key: str) -> None:
    registry = {key: LocalEvent}
    serializer = JsonSerializer()
    assert type(serializer.deserialize(_local_text(), type_registry=registry)) is LocalEvent
    nested = serializer.serialize({"events": [LocalEvent()]})
    assert type(serializer.deserialize(nested, type_registry=registry)["events"][0]) is LocalEvent
    assert (
        type(serializer.deserialize_value(json.loads(nested), type_registry=registry)["events"][0])
        is LocalEvent
    )


def test_allowed_types_refuses_other_names_but_not_reflows_own() -> None:
    serializer = JsonSerializer(allowed_types=[LocalEvent])
    with pytest.raises(ValueError, match="not in the serializer's allowed types"):
        serializer.deserialize(JsonSerializer().serialize(Inner()))
    assert serializer.deserialize(JsonSerializer().serialize(StopEvent(result=1))).result == 1


def test_allowed_types_strings_permit_imports() -> None:
    serializer = JsonSerializer(allowed_types=[f"{__name__}.Inner"])
    assert serializer.deserialize(JsonSerializer().serialize(Inner(x=4))) == Inner(x=4)


def test_allowed_types_rejects_entries_that_are_not_classes_or_names() -> None:
    with pytest.raises(TypeError, match="allowed_types"):
        JsonSerializer(allowed_types=[1])  # type: ignore[list-item]


def test_two_classes_with_one_full_name_cannot_both_be_registered() -> None:
    with pytest.raises(ValueError, match="Two classes are serialized as"):
        JsonSerializer(allowed_types=[_make_local_event(), _make_local_event()])


def test_classes_sharing_only_the_peers_short_name_stay_apart() -> None:
    other = _make_other_local_event()
    serializer = JsonSerializer(allowed_types=[LocalEvent, other])
    assert type(serializer.deserialize(_local_text())) is LocalEvent
    assert type(serializer.deserialize(serializer.serialize(other(b=1)))) is other
    with pytest.raises(ValueError, match="more than one registered class"):
        serializer.deserialize(_local_text().replace(LOCAL_NAME, PEER_LOCAL_NAME))


def test_resolve_class_reports_bad_names() -> None:
    serializer = JsonSerializer()
    with pytest.raises(ValueError, match=r"module\.Class"):
        serializer.resolve_class("Nope")
    with pytest.raises(ImportError):
        serializer.resolve_class("no_such_module_xyz.Thing")
    assert serializer.resolve_class("builtins.dict") is dict


def test_validation_context_lets_nested_validators_use_the_registry() -> None:
    with pytest.raises(ImportError):
        resolve_serialized_class(LOCAL_NAME)
    with JsonSerializer(allowed_types=[LocalEvent]).validation_context():
        assert resolve_serialized_class(LOCAL_NAME) is LocalEvent
    assert resolve_serialized_class("workflows.events.StopEvent") is StopEvent
