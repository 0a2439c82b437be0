"""Dot paths into a state model: ``"user.profile.name"``, ``"items.0.title"``.

Each segment is looked up by what the current object is: a declared field or a dynamic key of
a dict-like model (``Event``, ``DictState``), a key of a mapping, an index of a list or tuple
(``int()`` syntax, negative indices allowed), otherwise an attribute.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from reflow.context._serializability import child_path
from reflow.events import DictLikeModel

MAX_PATH_SEGMENTS = 1000


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


def split_path(path: str) -> list[str]:
    segments = path.split(".")
    if len(segments) > MAX_PATH_SEGMENTS:
        raise ValueError(f"Path length exceeds {MAX_PATH_SEGMENTS} segments")
    return segments


def lookup(container: Any, segment: str) -> Any:
    """The child called ``segment``, or ``MISSING``."""
    if isinstance(container, DictLikeModel):
        if segment in type(container).model_fields:
            return getattr(container, segment)
        return container.to_dict().get(segment, MISSING)
    if isinstance(container, Mapping):
        return container.get(segment, MISSING)
    if isinstance(container, Sequence) and not isinstance(container, (str, bytes)):
        index = _index(segment, len(container))
        return MISSING if index is None else container[index]
    return getattr(container, segment, MISSING)


def find(root: Any, segments: list[str]) -> tuple[Any, int]:
    """Follow ``segments`` from ``root``: (value, -1), or (MISSING, index of the absent one)."""
    current = root
    for position, segment in enumerate(segments):
        current = lookup(current, segment)
        if current is MISSING:
            return MISSING, position
    return current, -1


def render(path: str, container: Any, segment: str) -> str:
    """Extend a display path (``state.items[3]``) by one segment of ``container``."""
    if isinstance(container, Mapping) and not isinstance(container, DictLikeModel):
        return child_path(path, segment, attribute=False)
    if isinstance(container, Sequence) and not isinstance(container, (str, bytes)):
        index = _index(segment, len(container))
        return f"{path}[{segment if index is None else index}]"
    return child_path(path, segment, attribute=True)


@dataclass
class Assignment:
    """One pending write: ``container[segment] = value`` (or the attribute form).

    Missing intermediate segments are not created one by one: ``value`` arrives already wrapped
    in fresh dicts for them, so the write is a single assignment that is easy to undo.
    """

    container: Any
    segment: str
    value: Any
    display_path: str
    # True when every container between the root and the written one is a dict or a list.
    plain_chain: bool
    previous: Any = MISSING


def plan_assignment(root: Any, segments: list[str], value: Any, root_path: str) -> Assignment:
    container = root
    display = root_path
    plain = True
    for position, segment in enumerate(segments[:-1]):
        child = lookup(container, segment)
        if child is MISSING:
            wrapped = value
            for later in reversed(segments[position + 1 :]):
                wrapped = {later: wrapped}
            return Assignment(
                container, segment, wrapped, render(display, container, segment), plain
            )
        display = render(display, container, segment)
        container = child
        plain = plain and isinstance(child, (dict, list))
    last = segments[-1]
    return Assignment(container, last, value, render(display, container, last), plain)


def apply(assignment: Assignment, path: str) -> None:
    """Perform the write, remembering the previous value so :func:`undo` can restore it."""
    assignment.previous = lookup(assignment.container, assignment.segment)
    _assign(assignment.container, assignment.segment, assignment.value, path)


def undo(assignment: Assignment, path: str) -> None:
    container, segment, previous = assignment.container, assignment.segment, assignment.previous
    if previous is not MISSING:
        _assign(container, segment, previous, path)
    elif isinstance(container, DictLikeModel):
        container.to_dict().pop(segment, None)
    elif isinstance(container, MutableMapping):
        container.pop(segment, None)
    else:
        delattr(container, segment)


def _assign(container: Any, segment: str, value: Any, path: str) -> None:
    is_dynamic_key = (
        isinstance(container, DictLikeModel) and segment not in type(container).model_fields
    )
    if is_dynamic_key or isinstance(container, MutableMapping):
        container[segment] = value
    elif isinstance(container, list):
        index = _index(segment, len(container))
        if index is None:
            raise AttributeError(
                f"Cannot set {path!r}: {segment!r} is not an index of a list of length "
                f"{len(container)} (lists are not extended by set())"
            )
        container[index] = value
    else:
        try:
            setattr(container, segment, value)
        except AttributeError as exc:
            raise AttributeError(f"Cannot set {path!r}: {exc}") from exc


def _index(segment: str, length: int) -> int | None:
    try:
        index = int(segment)
    except ValueError:
        return None
    return index if -length <= index < length else None
