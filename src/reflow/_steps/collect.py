"""Where a Workflow class's steps come from: decorated methods plus registered free functions.

Each Workflow subclass gets its own ``_step_functions`` dict (from :class:`WorkflowMeta`) for
functions registered with ``add_step`` / ``@step(workflow=...)``.  As in llama-index-workflows,
registrations belong to the class they were made on: subclasses do not inherit them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from reflow._steps.config import StepFunction
from reflow.errors import WorkflowValidationError


class WorkflowMeta(type):
    """Gives every class it creates a fresh ``_step_functions`` registry."""

    _step_functions: dict[str, StepFunction[..., Any]]

    def __init__(cls, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> None:
        super().__init__(name, bases, namespace)
        cls._step_functions = {}


def _class_step_methods(cls: type) -> dict[str, StepFunction[..., Any]]:
    """Decorated methods visible on ``cls`` (a subclass attribute hides the base one).

    Ordered by name, as llama-index-workflows lists them (its order decides, for example, in
    which order steps accepting the same event are started).
    """
    visible: dict[str, Any] = {}
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            visible.setdefault(name, value)
    methods: dict[str, StepFunction[..., Any]] = {}
    for name in sorted(visible):
        value = visible[name]
        if isinstance(value, staticmethod):
            value = value.__func__
        if callable(value) and hasattr(value, "_step_config"):
            methods[name] = cast("StepFunction[..., Any]", value)
    return methods


def collect_step_functions(cls: type) -> dict[str, StepFunction[..., Any]]:
    """Every step of ``cls``: decorated methods (by name), then its registered free functions.

    Methods are returned unbound; the caller binds them to the instance.
    """
    steps = _class_step_methods(cls)
    registered: dict[str, StepFunction[..., Any]] = getattr(cls, "_step_functions", {})
    for name, func in registered.items():
        steps.setdefault(name, func)
    return steps


def add_step_to(cls: type, func: Callable[..., Any]) -> None:
    """Register a ``@step``-decorated free function with ``cls`` (``Workflow.add_step``)."""
    name = getattr(func, "__name__", None)
    if not callable(func) or not isinstance(name, str):
        raise WorkflowValidationError(
            f"add_step expects a function decorated with @step, got {func!r}"
        )
    if not hasattr(func, "_step_config"):
        raise WorkflowValidationError(f"Step function {name} is missing the `@step` decorator.")
    registry: dict[str, StepFunction[..., Any]] | None = cls.__dict__.get("_step_functions")
    if registry is None:
        raise WorkflowValidationError(
            f"{cls.__name__} is not a Workflow class; add_step needs a Workflow subclass"
        )
    if name in registry or name in _class_step_methods(cls):
        raise WorkflowValidationError(
            f"A step {name} is already part of this workflow, please choose another name."
        )
    registry[name] = func
