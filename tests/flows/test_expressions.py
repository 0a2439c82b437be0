"""The safe condition evaluator and the sandboxed templates."""

from __future__ import annotations

import operator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reflow.flows import ExpressionError, evaluate
from reflow.flows._templates import TemplateRenderError, is_template, render_form, render_value

DATA = {"counter": {"current": 3}, "name": "Ada", "tags": ["a", "b"], "n": None}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("data.counter.current > 2", True),
        ("data['counter']['current'] % 2 == 0", False),
        ("data.name.lower().startswith('a') and 'b' in data.tags", True),
        ("len(data.tags) == 2 or 1 / 0", True),
        ("data.missing is None", True),
        ("not data.n", True),
        ("1 < data.counter.current <= 3", True),
        ("data.tags[-1] if data.tags else 'none'", "b"),
        ("{'k': [1, 2][0:1]}", {"k": [1]}),
        ("max(1, data.counter.current) + -1", 2),
        ("data.get('name')", "Ada"),
        ("true", True),
    ],
)
def test_allowed_expressions(expression: str, expected: Any) -> None:
    assert evaluate(expression, {"data": DATA}) == expected


@pytest.mark.parametrize(
    ("expression", "needle"),
    [
        ("__import__('os').system('true')", "not allowed|unknown name"),
        ("data.__class__", "attribute '__class__'"),
        ("open('/etc/passwd')", "not allowed|unknown name"),
        ("(lambda: 1)()", "not allowed"),
        ("[x for x in data]", "ListComp|not allowed"),
        ("data.name.format(1)", "call is not allowed"),
        ("2 ** 10", "Pow|not allowed"),
        ("'a' * 10_000_000", "longer than"),
        ("len(x=1)", "keyword"),
        ("data.counter.", "invalid expression"),
        ("data.name.keys()", "has no method"),
        ("1 / 0", "ZeroDivisionError"),
        ("data.tags.upper", "cannot read attribute"),
    ],
)
def test_refused_or_failing_expressions(expression: str, needle: str) -> None:
    with pytest.raises(ExpressionError, match=needle):
        evaluate(expression, {"data": DATA})


_OPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "<": operator.lt,
    "==": operator.eq,
    ">=": operator.ge,
}


@given(
    st.integers(-(10**6), 10**6),
    st.sampled_from(sorted(_OPS)),
    st.integers(-(10**6), 10**6),
)
def test_binary_operators_match_python_semantics(a: int, op: str, b: int) -> None:
    assert evaluate(f"data.a {op} data.b", {"data": {"a": a, "b": b}}) == _OPS[op](a, b)


@given(st.dictionaries(st.text("abcxyz", min_size=1, max_size=4), st.integers(), max_size=5))
def test_membership_and_lookup_for_any_mapping(data: dict[str, int]) -> None:
    for key, value in data.items():
        assert evaluate(f"data[{key!r}] == {value}", {"data": data}) is True
        assert evaluate(f"{key!r} in data", {"data": data}) is True
    assert evaluate("'missing_key' in data", {"data": data}) is False


def test_templates_render_data_env_and_json() -> None:
    runtime: dict[str, Any] = {}
    text = render_value(
        "{{ data.counter }} {{ env.stage }} {{ data.nope.deeper }}|{{ data.tags | tojson }}",
        DATA,
        {"stage": "prod"},
        runtime,
    )
    assert text == '{"current": 3} prod |["a", "b"]'


# Text with no ``{{`` or ``{%``: random text that has one is most often a malformed template,
# which fails to render (test_template_errors_name_the_field), not what this property is about.
_PLAIN = st.text(max_size=30).filter(lambda text: not is_template(text))


@given(_PLAIN, _PLAIN)
def test_values_without_template_markers_pass_through_unchanged(a: str, b: str) -> None:
    form = {"a": a, "b": b, "n": 1, "tpl": "{{ data.x }}\n"}
    rendered = render_form(form, {"x": 7}, {}, {})
    assert (rendered["a"], rendered["b"]) == (a, b)
    assert rendered["n"] == 1 and rendered["tpl"] == "7\n"


def test_template_errors_name_the_field() -> None:
    with pytest.raises(TemplateRenderError) as info:
        render_value("{{ cycler.__init__.__globals__ }}", {}, {}, {}, field="url")
    assert info.value.field == "url" and "SecurityError" in str(info.value)
