"""How ``--arg`` and ``--json`` become ``workflow.run(**kwargs)``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reflow.cli._errors import UsageProblem
from reflow.cli._run import parse_start_kwargs

keys = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda k: k != "run_id")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)


@given(st.dictionaries(keys, json_values, max_size=4))
def test_json_objects_pass_through_unchanged(values: dict[str, Any]) -> None:
    assert parse_start_kwargs([], json.dumps(values), {}) == values


@given(keys, json_values)
def test_undeclared_arg_values_are_read_as_json(key: str, value: Any) -> None:
    assert parse_start_kwargs([f"{key}={json.dumps(value)}"], None, {}) == {key: value}


@given(keys, st.text(max_size=20))
def test_undeclared_arg_values_that_are_not_json_stay_text(key: str, text: str) -> None:
    try:
        json.loads(text)
    except ValueError:
        assert parse_start_kwargs([f"{key}={text}"], None, {}) == {key: text}


@given(st.text(max_size=20) | st.builds(json.dumps, json_values))
def test_a_declared_str_field_always_gets_the_text(text: str) -> None:
    assert parse_start_kwargs([f"name={text}"], None, {"name": str}) == {"name": text}


def test_declared_fields_get_values_of_their_type() -> None:
    declared = {"n": int, "tags": list[str], "ratio": float, "flag": bool, "maybe": int | None}
    parsed = parse_start_kwargs(
        ["n=3", 'tags=["a", "b"]', "ratio=0.5", "flag=true", "maybe=null"], None, declared
    )
    assert parsed == {"n": 3, "tags": ["a", "b"], "ratio": 0.5, "flag": True, "maybe": None}


def test_a_declared_value_of_the_wrong_type_is_left_for_the_start_event_to_reject() -> None:
    assert parse_start_kwargs(["n=many"], None, {"n": int}) == {"n": "many"}


def test_arg_overrides_json_and_splits_on_the_first_equals_sign() -> None:
    parsed = parse_start_kwargs(["expr=a=b", "x=2"], '{"x": 1, "y": 1}', {})
    assert parsed == {"x": 2, "y": 1, "expr": "a=b"}


@pytest.mark.parametrize(
    ("args", "json_text", "message"),
    [
        (["novalue"], None, "--arg 'novalue': expected KEY=VALUE"),
        (["=value"], None, "--arg '=value': expected KEY=VALUE"),
        ([], "[1, 2]", "--json must be a JSON object, got list"),
        ([], "{", "--json is not valid JSON"),
        (["run_id=abc"], None, "use --run-id"),
    ],
)
def test_bad_start_arguments(args: list[str], json_text: str | None, message: str) -> None:
    with pytest.raises(UsageProblem, match=message):
        parse_start_kwargs(args, json_text, {})
