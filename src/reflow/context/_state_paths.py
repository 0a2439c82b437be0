"""Dot paths into a state model: ``"user.profile.name"``, ``"items.0.title"``.

Each segment is looked up by what the current object is: a declared field or a dynamic key of
a dict-like model (``Event``, ``DictState``), a key of a mapping, an index of a list or tuple
(``int()`` syntax, negative indices allowed), otherwise an attribute.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

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
    # Containers on the path replaced by their copies, ``(container, segment, original)``, in
    # path order: undone, after the write itself, when the write is refused.
    replaced: list[tuple[Any, str, Any]] = field(default_factory=list)


def plan_copy_on_write(root: Any, segments: list[str], value: Any, root_path: str) -> Assignment:
    """The write of ``value`` at ``segments``, the containers below ``root`` on the path
    replaced by shallow copies (the spine).

    The root itself is written in place: the store never hands it out (readers get a copy of
    it), so only what lies below it can be shared with a reader.  Siblings of the path stay
    shared, so a write costs the path's length, and a container a reader got earlier never
    changes.  Past a container that cannot be copied (an arbitrary object) the write goes
    through to the shared object.
    """
    container = root
    display = root_path
    plain = True
    copying = True
    replaced: list[tuple[Any, str, Any]] = []
    for position, segment in enumerate(segments[:-1]):
        child = lookup(container, segment)
        if child is MISSING:
            wrapped = value
            for later in reversed(segments[position + 1 :]):
                wrapped = {later: wrapped}
            where = render(display, container, segment)
            return Assignment(container, segment, wrapped, where, plain, replaced=replaced)
        display = render(display, container, segment)
        if copying:
            copied = shallow_copy(child)
            if copied is child:
                copying = False  # written through from here on
            else:
                replaced.append((container, segment, child))
                _assign(container, segment, copied, display)
                child = copied
        container = child
        plain = plain and isinstance(child, (dict, list))
    last = segments[-1]
    where = render(display, container, last)
    return Assignment(container, last, value, where, plain, replaced=replaced)


def shallow_copy(value: Any) -> Any:
    """A copy of a path container whose children are shared, or ``value`` itself if its kind
    is not known to copy safely (such containers are written through)."""
    kind = type(value)
    if kind is dict:
        return dict(value)
    if kind is list:
        return list(value)
    if isinstance(value, DictLikeModel):
        copied = value.model_copy()
        copied._data = dict(value._data)
        return copied
    if isinstance(value, BaseModel):
        return value.model_copy()
    return value


def apply(assignment: Assignment, path: str) -> None:
    """Perform the write, remembering the previous value so :func:`undo` can restore it."""
    assignment.previous = lookup(assignment.container, assignment.segment)
    _assign(assignment.container, assignment.segment, assignment.value, path)


def undo(assignment: Assignment, path: str) -> None:
    """Restore what :func:`apply` (and the copying of the spine) replaced."""
    container, segment, previous = assignment.container, assignment.segment, assignment.previous
    if previous is not MISSING:
        _assign(container, segment, previous, path)
    elif isinstance(container, DictLikeModel):
        container.to_dict().pop(segment, None)
    elif isinstance(container, MutableMapping):
        container.pop(segment, None)
    else:
        delattr(container, segment)
    undo_spine(assignment, path)


def undo_spine(assignment: Assignment, path: str) -> None:
    """Put back the containers on the path that were replaced by copies."""
    for parent, key, original in reversed(assignment.replaced):
        _assign(parent, key, original, path)


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
