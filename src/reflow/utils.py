"""Step-signature helpers under the names llama-index-workflows' ``workflows.utils`` has.

llama-index-core re-exports them from ``llama_index.core.workflow.utils`` (and its deprecated
``drawing`` module walks a workflow's steps with them), so they exist here with the peer's
behaviour, built on reflow's own signature reader (:mod:`reflow._steps.signature`).
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from typing import Any, Union, cast, get_args, get_origin

from pydantic import BaseModel

from reflow._steps.signature import (
    _check_event_parameters,
    _Parameters,
    _scan_parameters,
    parse_return_annotation,
    resolve_hints,
)
from reflow.decorators import StepFunction
from reflow.errors import WorkflowValidationError
from reflow.events import EventType

__all__ = [
    "BUSY_WAIT_DELAY",
    "StepSignatureSpec",
    "get_steps_from_class",
    "get_steps_from_instance",
    "inspect_signature",
    "is_free_function",
    "validate_step_signature",
]

# Kept for code that imports it; reflow's runtimes never busy-wait.
BUSY_WAIT_DELAY = 0.01

_NONE = type(None)


class StepSignatureSpec(BaseModel):
    """What a step function's signature declares (``inspect_signature``'s answer)."""

    accepted_events: dict[str, list[EventType]]
    return_types: list[Any]
    context_parameter: str | None
    context_state_type: Any | None
    resources: list[Any]
    collection_param: tuple[str, tuple[Any, ...]] | None = None
    collection_policy: Any | None = None
    is_fan_out: bool = False
    bare_return_types: list[Any] = []


def inspect_signature(
    fn: Callable[..., Any], localns: dict[str, Any] | None = None
) -> StepSignatureSpec:
    """Read ``fn``'s event, context and resource parameters and its return types.

    Does not check them (``validate_step_signature`` does); ``TypeError`` for a non-callable.
    """
    if not callable(fn):
        raise TypeError(f"Expected a callable object, got {type(fn).__name__}")
    names = list(inspect.signature(fn).parameters)
    hints = resolve_hints(fn, dict(localns or {}))
    found: _Parameters = _scan_parameters(names, hints, dict(localns or {}))
    if len(found.collections) > 1:
        _check_event_parameters(found)  # raises the "at most one list[E]" error
    accepted: dict[str, list[Any]] = {name: list(kinds) for name, kinds in found.events}
    collection_param: tuple[str, tuple[Any, ...]] | None = None
    collection_policy: Any = None
    if found.collections:
        name, elements, collection_policy = found.collections[0]
        collection_param = (name, tuple(elements))
        accepted[name] = list(elements)
    return_types, bare, fan_out = (
        parse_return_annotation(hints["return"]) if "return" in hints else ([], (), False)
    )
    return StepSignatureSpec(
        accepted_events=accepted,
        return_types=return_types,
        context_parameter=found.context_parameter,
        context_state_type=found.context_state_type,
        resources=list(found.resources),
        collection_param=collection_param,
        collection_policy=collection_policy,
        is_fan_out=fan_out,
        bare_return_types=list(bare),
    )


def validate_step_signature(spec: StepSignatureSpec) -> None:
    """Raise ``WorkflowValidationError`` when ``spec`` cannot be a step's signature."""
    if not spec.accepted_events:
        raise WorkflowValidationError(
            "Step signature must have at least one parameter annotated as type Event"
        )
    if spec.collection_param is not None and len(spec.accepted_events) > 1:
        raise WorkflowValidationError(
            "A list[E] collection parameter cannot be combined with other event parameters. "
            "Use a single list[E] parameter, or multiple single-event parameters for a "
            "multi-slot join."
        )
    if len(spec.accepted_events) > 1:
        for name, kinds in spec.accepted_events.items():
            if len(kinds) != 1:
                raise WorkflowValidationError(
                    "Collect-mode steps (more than one event parameter) require each event "
                    f"parameter to declare a single event type, but parameter '{name}' "
                    f"declares {len(kinds)}. Union-typed collect parameters are not supported."
                )
    if not spec.return_types:
        raise WorkflowValidationError(
            "Return types of workflows step functions must be annotated with their type."
        )


def get_steps_from_class(_class: object) -> dict[str, StepFunction[..., Any]]:
    """The ``@step`` functions defined on a class (by attribute name)."""
    return {
        name: cast("StepFunction[..., Any]", member)
        for name, member in inspect.getmembers(_class, predicate=inspect.isfunction)
        if hasattr(member, "_step_config")
    }


def get_steps_from_instance(workflow: object) -> dict[str, StepFunction[..., Any]]:
    """The ``@step`` methods bound to a workflow instance (by attribute name)."""
    return {
        name: cast("StepFunction[..., Any]", member)
        for name, member in inspect.getmembers(workflow, predicate=inspect.ismethod)
        if hasattr(member, "_step_config")
    }


def is_free_function(qualname: str) -> bool:
    """Whether a ``__qualname__`` names a module-level or nested function (not a method).

    ``ValueError`` for an empty name.
    """
    if not qualname:
        raise ValueError("The qualified name cannot be empty")
    parts = qualname.split(".")
    if len(parts) == 1:
        return True
    if "<locals>" not in parts:
        return False
    return parts[-2] == "<locals>"


def _get_param_types(param: inspect.Parameter, type_hints: dict[str, Any]) -> list[Any]:
    """The types a parameter is annotated with: union members without None, ``[Any]`` if bare."""
    annotation = type_hints.get(param.name, param.annotation)
    if annotation is inspect.Parameter.empty:
        return [Any]
    if get_origin(annotation) in (Union, types.UnionType):
        return [member for member in get_args(annotation) if member is not _NONE]
    return [annotation]


def _get_return_types(func: Callable[..., Any], localns: dict[str, Any] | None = None) -> list[Any]:
    """The event types a function's return annotation produces (``[]`` when unannotated)."""
    hints = resolve_hints(func, dict(localns or {}))
    if "return" not in hints:
        return []
    return parse_return_annotation(hints["return"])[0]
