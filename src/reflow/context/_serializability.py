"""Finding the value that stops a structure from being serialized, and naming where it sits.

``check_serializable(value, "state", serializer)`` serializes ``value`` once.  Plain data passes
at the cost of that one call.  Only when it fails does it walk the structure to find the first
culprit, which it reports as ``SerializationError("state.customer.client", reason)``.

Paths: ``.name`` for model fields and dict-like-model keys, ``["key"]`` for dict keys, ``[3]``
for list and tuple items.

A value is blamed only when it fails to serialize in the way its container would serialize
it.  Inside a pydantic model values go through pydantic (a ``datetime`` field is fine there,
though ``JsonSerializer`` rejects a bare ``datetime``).  A container whose children all pass,
but which fails itself (a tuple holding a model, a dict with tuple keys), is blamed as a whole.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from typing import Annotated, Any, NoReturn, cast

from pydantic import BaseModel, ConfigDict, TypeAdapter
from pydantic_core import to_jsonable_python

from reflow.context._plain_models import is_plain
from reflow.context.serializers import (
    BaseSerializer,
    JsonSerializer,
    PickleSerializer,
    _is_component,
)
from reflow.errors import SerializationError
from reflow.events import DictLikeModel, StopEvent

# With no serializer chosen, values are checked with this one: a value is refused when it is
# stored or sent only if neither JSON nor pickle can encode it, so pickle-only values keep
# working as with the peer (a JSON snapshot of them then names their path).
DEFAULT_VALUE_CHECKER = PickleSerializer()

# The serializers whose encoding of a plain model (``_plain_models``) cannot fail.
_PLAIN_ENCODERS = (JsonSerializer, PickleSerializer)

# Deeper than this the walk stops and blames the value it reached.
_MAX_WALK_DEPTH = 200

_field_adapters: weakref.WeakKeyDictionary[type[BaseModel], dict[str, TypeAdapter[Any] | None]] = (
    weakref.WeakKeyDictionary()
)


_SCALARS = (str, int, float, bool, bytes, type(None))

# What the one-shot walk does with a value of a given type, decided once per type (an
# ``isinstance`` test against the ``Iterator`` ABC is the walk's dearest step otherwise).
_LEAF, _ONE_SHOT, _MAPPING, _ITEMS, _MODEL, _DICT_MODEL = range(6)
_kinds: dict[type, int] = {}
_MAX_KINDS = 4096  # classes made at run time must not grow the table without bound


def _kind(cls: type) -> int:
    kind = _kinds.get(cls)
    if kind is None:
        if issubclass(cls, _SCALARS):
            kind = _LEAF
        elif issubclass(cls, Iterator):
            kind = _ONE_SHOT
        elif issubclass(cls, dict):
            kind = _MAPPING
        elif issubclass(cls, (list, tuple, set, frozenset)):
            kind = _ITEMS
        elif issubclass(cls, DictLikeModel):
            kind = _DICT_MODEL
        elif issubclass(cls, BaseModel):
            kind = _MODEL
        else:
            kind = _LEAF
        if len(_kinds) >= _MAX_KINDS:
            _kinds.clear()
        _kinds[cls] = kind
    return kind


def _find_one_shot(value: Any, path: str, depth: int = 0) -> None:
    """Refuse generators and other one-shot iterators before anything serializes them.

    Serializing one (pydantic turns iterators into lists) would consume it, so the value that
    was checked would arrive empty.
    """
    kind = _kind(type(value))
    if kind == _LEAF or depth > _MAX_WALK_DEPTH:
        return
    if kind == _ONE_SHOT:
        raise SerializationError(
            path, f"a {type(value).__name__} can be read only once; pass a list instead"
        )
    if kind == _MAPPING:
        for key, child in value.items():
            _find_one_shot(child, child_path(path, key, attribute=False), depth + 1)
    elif kind == _ITEMS:
        for index, child in enumerate(value):
            _find_one_shot(child, f"{path}[{index}]", depth + 1)
    else:
        for name in type(value).model_fields:
            _find_one_shot(getattr(value, name, None), f"{path}.{name}", depth + 1)
        if kind == _DICT_MODEL:
            for key, child in value._data.items():
                _find_one_shot(child, child_path(path, key, attribute=True), depth + 1)


def _holds_one_shot(value: Any, depth: int = 0) -> bool:
    """Whether ``_find_one_shot`` would refuse ``value``: the same walk without building paths
    (the common case finds nothing, and the paths cost more than the walk)."""
    kind = _kinds.get(type(value))
    if kind is None:
        kind = _kind(type(value))
    if kind == _LEAF or depth > _MAX_WALK_DEPTH:
        return False
    if kind == _ONE_SHOT:
        return True
    depth += 1
    if kind == _MAPPING:
        children: Any = value.values()
    elif kind == _ITEMS:
        children = value
    else:
        children = [getattr(value, name, None) for name in type(value).model_fields]
        if kind == _DICT_MODEL:
            children.extend(value._data.values())
    return any(_holds_one_shot(child, depth) for child in children)


def check_serializable(value: Any, path: str, serializer: BaseSerializer) -> None:
    """Raise ``SerializationError(path_of_culprit, reason)`` if ``serializer`` cannot encode
    ``value``; return quietly otherwise."""
    if type(serializer) in _PLAIN_ENCODERS and is_plain(value):
        return  # JSON encodes a model of plain scalars: no need to try
    if _holds_one_shot(value):
        _find_one_shot(value, path)
    try:
        serializer.serialize(value)
    except Exception as error:
        _Walk(serializer).blame(value, path, error, in_model=False, depth=0)


def child_path(path: str, key: Any, *, attribute: bool) -> str:
    """``path.key`` for attribute-like keys, ``path["key"]`` or ``path[3]`` otherwise."""
    if attribute and isinstance(key, str) and key.isidentifier():
        return f"{path}.{key}"
    if isinstance(key, str):
        return f"{path}[{json.dumps(key, ensure_ascii=False)}]"
    return f"{path}[{key!r}]"


class _Walk:
    def __init__(self, serializer: BaseSerializer) -> None:
        self._serializer = serializer
        self._open: set[int] = set()  # ids of the containers on the current path (cycles)

    def blame(
        self, value: Any, path: str, error: BaseException, *, in_model: bool, depth: int
    ) -> NoReturn:
        if depth >= _MAX_WALK_DEPTH:
            raise SerializationError(path, "the value is nested too deeply to serialize")
        self._open.add(id(value))
        try:
            for sub_path, child, child_in_model, adapter in _children(value, path, in_model):
                if id(child) in self._open:
                    raise SerializationError(sub_path, "it contains itself (a circular reference)")
                child_error = self._failure(child, in_model=child_in_model, adapter=adapter)
                if child_error is not None:
                    self.blame(
                        child, sub_path, child_error, in_model=child_in_model, depth=depth + 1
                    )
        finally:
            self._open.discard(id(value))
        raise SerializationError(path, self._reason(value, error)) from error

    def _failure(
        self, value: Any, *, in_model: bool, adapter: TypeAdapter[Any] | None
    ) -> BaseException | None:
        """The error ``value`` raises where it sits, or None if it serializes there."""
        if in_model:
            if adapter is not None:
                try:
                    adapter.dump_python(value, mode="json", warnings=False)
                    return None
                except Exception:
                    pass
            try:
                to_jsonable_python(value)
                return None
            except Exception:
                pass
        try:
            self._serializer.serialize(value)
            return None
        except Exception as error:
            return error

    def _reason(self, value: Any, error: BaseException) -> str:
        # JsonSerializer wraps the real cause ("Object of type X is not JSON serializable").
        cause = error.__cause__ if error.__cause__ is not None else error
        return (
            f"a value of type {type(value).__qualname__!r} cannot be serialized by "
            f"{type(self._serializer).__name__}: {cause}"
        )


def _children(
    value: Any, path: str, in_model: bool
) -> Iterator[tuple[str, Any, bool, TypeAdapter[Any] | None]]:
    """(path, child, serialized-by-pydantic, field adapter) for each child, in dump order."""
    if _is_component(value):
        return  # serialized through its own to_dict(); blame it as a whole
    if isinstance(value, BaseModel):
        model_type = type(value)
        for name in model_type.model_fields:
            child = getattr(value, name, None)
            yield f"{path}.{name}", child, True, _field_adapter(model_type, name)
        for name, child in (value.model_extra or {}).items():
            yield child_path(path, name, attribute=True), child, True, None
        if isinstance(value, DictLikeModel):
            for key, child in value.to_dict().items():
                yield child_path(path, key, attribute=True), child, True, None
        if isinstance(value, StopEvent) and value._result is not None:
            yield f"{path}.result", value._result, True, None
    elif isinstance(value, dict):
        for key, child in value.items():
            yield child_path(path, key, attribute=False), child, in_model, None
    elif isinstance(value, (list, tuple)):
        for index, child in enumerate(value):
            yield f"{path}[{index}]", child, in_model, None


def _field_adapter(model_type: type[BaseModel], name: str) -> TypeAdapter[Any] | None:
    """An adapter serializing one field exactly as the model does (annotated serializers too)."""
    per_model = _field_adapters.setdefault(model_type, {})
    if name not in per_model:
        per_model[name] = _build_field_adapter(model_type, name)
    return per_model[name]


def _build_field_adapter(model_type: type[BaseModel], name: str) -> TypeAdapter[Any] | None:
    field = model_type.model_fields[name]
    annotation: Any = field.annotation
    if field.metadata:
        annotation = cast(Any, Annotated)[tuple([annotation, *field.metadata])]
    try:
        return TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
    except Exception:
        pass
    try:
        # Types that carry their own config (models, dataclasses) refuse a config argument.
        return TypeAdapter(annotation)
    except Exception:
        return None
