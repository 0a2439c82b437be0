"""Rendering config values that are Jinja2 templates, in Jinja's sandbox.

A value is a template when it contains ``{{`` or ``{%``.  Templates see ``data`` (the incoming
payload's data), ``workflowenv`` / ``env`` (the flow's ``env``) and ``runtime`` (a mapping
shared by every loop of the flow).  The sandbox refuses attribute access to Python internals
(``__class__`` and friends), so a template cannot escape to the interpreter.  A missing key
renders as an empty string instead of raising, as in the seed; dicts and lists render as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateError, pass_context
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "TemplateRenderError",
    "check_template",
    "is_template",
    "render_form",
    "render_value",
]


class TemplateRenderError(Exception):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def _finalize(value: Any) -> Any:
    if isinstance(value, (dict, list)) and not isinstance(value, ChainableUndefined):
        try:
            return json.dumps(value, default=str)
        except (TypeError, ValueError):
            return value
    return value


def _tojson(value: Any) -> str:
    return json.dumps(value, default=str)


@pass_context
def _set_runtime(context: Any, value: Any, key: str, stored: Any = None) -> Any:
    context["runtime"][str(key)] = value if stored is None else stored
    return value


@pass_context
def _delete_runtime(context: Any, value: Any, key: str) -> Any:
    context["runtime"].pop(str(key), None)
    return value


class _Environment(SandboxedEnvironment):
    """The sandbox plus a compiled-template cache keyed by source text."""

    def __init__(self) -> None:
        super().__init__(
            undefined=ChainableUndefined,
            finalize=_finalize,
            autoescape=False,
            keep_trailing_newline=True,
        )
        self.filters["tojson"] = _tojson
        self.filters["set_runtime"] = _set_runtime
        self.filters["delete_runtime"] = _delete_runtime
        self._compiled: dict[str, Template] = {}

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # Jinja would render an empty string; failing says what the template tried.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__} is unsafe")

    def compiled(self, source: str) -> Template:
        template = self._compiled.get(source)
        if template is None:
            template = self.from_string(source)
            if len(self._compiled) < 4096:
                self._compiled[source] = template
        return template


_ENV = _Environment()


def check_template(source: str) -> str | None:
    """The syntax error of ``source`` as text, or ``None`` when it compiles."""
    try:
        _ENV.compiled(source)
    except TemplateError as exc:
        return f"invalid template: {exc}"
    return None


def render_value(
    source: str,
    data: Mapping[str, Any],
    env: Mapping[str, Any],
    runtime: dict[str, Any],
    *,
    field: str = "",
) -> str:
    """Render one template; any failure becomes a ``TemplateRenderError`` naming ``field``."""
    try:
        template = _ENV.compiled(source)
        context = {
            "data": data,
            "workflowenv": env,
            "env": env,
            "runtime": runtime,
        }
        return template.render(context)
    except Exception as exc:  # a template may raise anything (division by zero, sandbox)
        raise TemplateRenderError(
            field, f"template of field {field!r} failed: {type(exc).__name__}: {exc}"
        ) from exc


def render_form(
    form: Mapping[str, Any],
    data: Mapping[str, Any],
    env: Mapping[str, Any],
    runtime: dict[str, Any],
) -> dict[str, Any]:
    """Every template value of ``form`` rendered; other values copied as they are."""
    return {
        name: render_value(value, data, env, runtime, field=name) if is_template(value) else value
        for name, value in form.items()
    }
