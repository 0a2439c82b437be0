"""Reading a step function's signature: which parameter gets the event, the context, resources.

``@step`` resolves annotations with ``typing.get_type_hints`` plus a namespace of local names
captured where the decorator ran, so ``from __future__ import annotations`` and events defined
inside a test function both work.  The rules (and their error messages) follow
llama-index-workflows 2.26.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin, get_type_hints

from reflow._steps.notes import with_note
from reflow.collect import All, Collect, Take
from reflow.errors import WorkflowValidationError
from reflow.events import Event
from reflow.resource import ResourceDefinition, get_resource_descriptor

_NONE = type(None)
_IGNORED_PARAMETERS = frozenset({"self", "cls"})
# How many frames outward from the decorating frame to search for local names.
_MAX_FRAMES = 64


@dataclass
class StepSignature:
    """What ``inspect_step_signature`` learned; mirrors the matching ``StepConfig`` fields."""

    accepted_events: list[Any]
    event_name: str
    return_types: list[Any]
    bare_return_types: tuple[Any, ...]
    is_fan_out: bool
    context_parameter: str | None
    context_state_type: Any
    resources: list[ResourceDefinition]
    collect_params: list[tuple[str, Any]] | None
    collection_param: tuple[str, tuple[Any, ...]] | None
    collection_policy: Collect | None


def is_free_function(func: Any) -> bool:
    """A function defined at module level or directly inside another function (not a class)."""
    qualname = getattr(func, "__qualname__", "")
    parts = qualname.split(".")
    return len(parts) == 1 or parts[-2] == "<locals>"


def capture_localns(func: Any, frame: types.FrameType | None) -> dict[str, Any]:
    """Local names visible where ``func`` was decorated, innermost scope first.

    Walks outward from ``frame`` through frames running code of ``func``'s module (enclosing
    functions and class bodies), stopping at that module's top level, and adds ``func``'s closure
    variables.  Frames of other modules (pytest, wrappers) are skipped, so only names the author
    could have meant are picked up.
    """
    module_globals = getattr(func, "__globals__", None)
    namespace: dict[str, Any] = {}
    closure = getattr(func, "__closure__", None) or ()
    code = getattr(func, "__code__", None)
    if code is not None:
        for name, cell in zip(code.co_freevars, closure, strict=False):
            try:
                namespace[name] = cell.cell_contents
            except ValueError:  # an empty cell: the name is assigned later
                continue
    depth = 0
    while frame is not None and depth < _MAX_FRAMES:
        if frame.f_globals is module_globals or module_globals is None:
            if frame.f_locals is frame.f_globals:
                break
            for name, value in frame.f_locals.items():
                namespace.setdefault(name, value)
        frame = frame.f_back
        depth += 1
    return namespace


def resolve_hints(func: Any, localns: dict[str, Any]) -> dict[str, Any]:
    """``get_type_hints`` with ``Annotated`` kept; failures become ``WorkflowValidationError``."""
    qualname = getattr(func, "__qualname__", repr(func))
    try:
        return get_type_hints(func, localns=localns, include_extras=True)
    except NameError as exc:
        missing = getattr(exc, "name", None) or str(exc)
        raise WorkflowValidationError(
            f"Failed to resolve type annotations for {qualname}. Missing name: {missing}. If you "
            "are using 'from __future__ import annotations' or string annotations, ensure "
            "referenced names are available in module scope or in the scope where the @step "
            "decorator is applied."
        ) from exc
    except Exception as exc:
        raise WorkflowValidationError(
            f"Failed to resolve type annotations for {qualname}: {type(exc).__name__}: {exc}"
        ) from exc


def _union_members(annotation: Any) -> list[Any]:
    """Members of ``A | B`` / ``Union[A, B]`` (nested unions flattened), else ``[annotation]``."""
    origin = get_origin(annotation)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        members: list[Any] = []
        for arg in get_args(annotation):
            members.extend(_union_members(arg))
        return members
    return [annotation]


def _is_event_class(candidate: Any) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, Event)


def _event_types(annotation: Any) -> list[type[Event]] | None:
    """``[A, B]`` for ``A | B | None`` when every non-None member is an Event class."""
    members = [m for m in _union_members(annotation) if m is not _NONE]
    if members and all(_is_event_class(m) for m in members):
        return members
    return None


def _list_element_types(annotation: Any) -> list[type[Event]] | None:
    """``[A, B]`` for ``list[A | B]`` (optionally ``| None``), else ``None``."""
    members = [m for m in _union_members(annotation) if m is not _NONE]
    if len(members) != 1 or get_origin(members[0]) is not list:
        return None
    args = get_args(members[0])
    if len(args) != 1:
        return None
    return _event_types(args[0])


def _is_context_annotation(annotation: Any) -> bool:
    # By class name, as in llama-index-workflows: any class called ``Context`` qualifies.
    target = get_origin(annotation) or annotation
    return isinstance(target, type) and target.__name__ == "Context"


def _context_state_type(annotation: Any) -> Any:
    args = get_args(annotation) if get_origin(annotation) is not None else ()
    return args[0] if args and isinstance(args[0], type) else None


def _check_cardinality(name: str, marker: Collect) -> None:
    if not isinstance(marker.cardinality, (All, Take)):
        raise WorkflowValidationError(
            f"Collect cardinality on '{name}' must be All() or Take(n). "
            "Other cardinalities are not supported."
        )


def parse_return_annotation(annotation: Any) -> tuple[list[Any], tuple[Any, ...], bool]:
    """``(return_types, bare_return_types, is_fan_out)`` of a return annotation.

    ``list[E]`` members are fan-out outputs: their element types are listed in
    ``return_types`` but not in ``bare_return_types``.  ``None`` is dropped from unions; a bare
    ``-> None`` gives ``[NoneType]``.
    """
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if annotation is None or annotation is _NONE:
        return [_NONE], (), False
    every: dict[Any, None] = {}
    bare: dict[Any, None] = {}
    fan_out = False
    for member in _union_members(annotation):
        if get_origin(member) is Annotated:
            member = get_args(member)[0]
        if member is _NONE:
            continue
        elements = _list_elements(member)
        if elements is None:
            every.setdefault(member, None)
            bare.setdefault(member, None)
            continue
        fan_out = True
        for element in elements:
            every.setdefault(element, None)
    return list(every), tuple(bare), fan_out


def _list_elements(annotation: Any) -> list[Any] | None:
    """Element types of ``list[X]`` (unions and nested lists flattened, ``None`` dropped)."""
    if get_origin(annotation) is not list or len(get_args(annotation)) != 1:
        return None
    elements: list[Any] = []
    for member in _union_members(get_args(annotation)[0]):
        if member is _NONE:
            continue
        nested = _list_elements(member)
        elements.extend(nested if nested is not None else [member])
    return elements


@dataclass
class _Parameters:
    events: list[tuple[str, list[type[Event]]]]
    collections: list[tuple[str, list[type[Event]], Collect]]
    context_parameter: str | None
    context_state_type: Any
    resources: list[ResourceDefinition]


def _scan_parameters(
    parameter_names: list[str], hints: dict[str, Any], localns: dict[str, Any]
) -> _Parameters:
    found = _Parameters([], [], None, None, [])
    for name in parameter_names:
        if name in _IGNORED_PARAMETERS or name not in hints:
            continue
        annotation = hints[name]
        if get_origin(annotation) is Annotated:
            base, *metadata = get_args(annotation)
            descriptor = get_resource_descriptor(annotation)
            if descriptor is not None:
                descriptor.set_localns(localns)
                found.resources.append(
                    ResourceDefinition(name=name, resource=descriptor, type_annotation=base)
                )
                continue
            marker = next((m for m in metadata if isinstance(m, Collect)), None)
            if marker is None:
                continue  # other metadata: the parameter is not the framework's business
            elements = _list_element_types(base)
            if elements is None:
                raise WorkflowValidationError(
                    f"Parameter '{name}' carries a Collect marker but is not annotated as "
                    "list[E] of an Event subclass. Collect markers apply only to collection "
                    "fan-in (list[Event]) parameters."
                )
            _check_cardinality(name, marker)
            found.collections.append((name, elements, marker))
        elif _is_context_annotation(annotation):
            found.context_parameter = name
            found.context_state_type = _context_state_type(annotation)
        elif (elements := _list_element_types(annotation)) is not None:
            found.collections.append((name, elements, Collect(All())))
        elif (event_types := _event_types(annotation)) is not None:
            found.events.append((name, event_types))
    return found


def _check_event_parameters(found: _Parameters) -> None:
    if len(found.collections) > 1:
        first, second = found.collections[0][0], found.collections[1][0]
        raise WorkflowValidationError(
            "A step may declare at most one list[E] collection parameter, but found both "
            f"'{first}' and '{second}'. Multi-slot collects are not supported."
        )
    if found.collections and found.events:
        raise WorkflowValidationError(
            "A list[E] collection parameter cannot be combined with other event parameters. "
            "Use a single list[E] parameter, or multiple single-event parameters for a "
            "multi-slot join."
        )
    if not found.collections and not found.events:
        raise WorkflowValidationError(
            "Step signature must have at least one parameter annotated as type Event"
        )
    if len(found.events) > 1:
        for name, event_types in found.events:
            if len(event_types) > 1:
                raise WorkflowValidationError(
                    "Collect-mode steps (more than one event parameter) require each event "
                    f"parameter to declare a single event type, but parameter '{name}' declares "
                    f"{len(event_types)}. Union-typed collect parameters are not supported."
                )


_ASYNC_ITERATORS = (
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
)


def step_location(func: Any) -> str:
    """``step Class.method at path/file.py:12``: where a step is defined, for messages."""
    func = inspect.unwrap(func)
    name = getattr(func, "__qualname__", repr(func))
    code = getattr(func, "__code__", None)
    if code is None:
        return f"step {name}"
    return f"step {name} at {code.co_filename}:{code.co_firstlineno}"


def _event_parameter_detail(parameter_names: list[str], hints: dict[str, Any]) -> str:
    """Which parameters the step has, and why none of them counts as its event."""
    candidates = [
        n
        for n in parameter_names
        if n not in _IGNORED_PARAMETERS and not (n in hints and _is_context_annotation(hints[n]))
    ]
    if not candidates:
        return ": the step has no parameter for it"
    described = []
    for name in candidates:
        if name not in hints:
            described.append(f"'{name}' has no annotation")
        else:
            annotation = hints[name]
            shown = getattr(annotation, "__name__", None) or repr(annotation)
            described.append(f"'{name}' is annotated {shown}, not an Event")
    return ": " + ", ".join(described)


def inspect_step_signature(
    func: Any, parameter_names: list[str], localns: dict[str, Any]
) -> StepSignature:
    """Apply the step signature rules to ``func``; raises ``WorkflowValidationError``."""
    hints = resolve_hints(func, localns)
    if inspect.isasyncgenfunction(func) or get_origin(hints.get("return")) in _ASYNC_ITERATORS:
        raise WorkflowValidationError(
            "Async-iterator fan-out (an async generator step, or a step annotated "
            "AsyncIterator[E] / AsyncGenerator[E, None]) is not supported: return list[E] to "
            "fan out a known collection, or send events one by one with ctx.send_event."
        )
    found = _scan_parameters(parameter_names, hints, localns)
    try:
        _check_event_parameters(found)
    except WorkflowValidationError as exc:
        detail = _event_parameter_detail(parameter_names, hints) if not found.events else ""
        with_note(exc, f"{step_location(func)}{detail}")
        raise
    if "return" not in hints:
        raise with_note(
            WorkflowValidationError(
                "Return types of workflows step functions must be annotated with their type."
            ),
            step_location(func),
        )
    return_types, bare_return_types, is_fan_out = parse_return_annotation(hints["return"])
    collection_param: tuple[str, tuple[Any, ...]] | None = None
    collection_policy: Collect | None = None
    collect_params: list[tuple[str, Any]] | None = None
    if found.collections:
        name, elements, collection_policy = found.collections[0]
        collection_param = (name, tuple(elements))
        accepted: list[Any] = list(elements)
    else:
        name = found.events[0][0]
        accepted = [event for _, types_ in found.events for event in types_]
        if len(found.events) > 1:
            collect_params = [(param, types_[0]) for param, types_ in found.events]
    return StepSignature(
        accepted_events=accepted,
        event_name=name,
        return_types=return_types,
        bare_return_types=bare_return_types,
        is_fan_out=is_fan_out,
        context_parameter=found.context_parameter,
        context_state_type=found.context_state_type,
        resources=found.resources,
        collect_params=collect_params,
        collection_param=collection_param,
        collection_policy=collection_policy,
    )
