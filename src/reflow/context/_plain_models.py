"""Models holding only plain scalars: serializable and copyable without doing the work.

Every ``ctx.send_event`` and every state write is checked for serializability (one JSON
encoding), and every ``edit_state()`` deep-copies the state.  For the commonest shapes, an event
or a state model whose declared fields are ``str``, ``int``, ``float`` or ``bool`` (or one of
them ``| None``) and hold values of exactly those types, the outcome is known from the types:
JSON encodes them, and a shallow copy is a deep one.  Anything else takes the full path: custom
serializers, ``Annotated`` metadata, other field types, extra fields, private attributes other
than an event's ``_data``, or a value whose type differs from its field's.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from reflow.events import DictLikeModel

_SCALARS = (str, int, float, bool)
_DATA_VALUES = frozenset((str, int, float, bool, type(None)))
# reflow's own model serializers only add ``_data`` (and a StopEvent's result) to the dump.
_OWN_SERIALIZERS = frozenset(
    decorator.func for decorator in DictLikeModel.__pydantic_decorators__.model_serializers.values()
)

_Plan = tuple[tuple[str, tuple[type, ...]], ...]
_plans: dict[type, _Plan | None] = {}
_MAX_PLANS = 4096  # classes made at run time must not grow the table without bound


def _allowed_types(annotation: Any) -> tuple[type, ...] | None:
    if annotation in _SCALARS:
        return (annotation,)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = typing.get_args(annotation)
        if len(members) == 2 and type(None) in members:
            (kind,) = (member for member in members if member is not type(None))
            if kind in _SCALARS:
                return (kind, type(None))
    return None


def _plan_for(cls: type[BaseModel]) -> _Plan | None:
    config = cls.model_config
    if config.get("json_encoders") or config.get("extra") == "allow":
        return None
    decorators = cls.__pydantic_decorators__
    if decorators.field_serializers or any(
        decorator.func not in _OWN_SERIALIZERS
        for decorator in decorators.model_serializers.values()
    ):
        return None
    if set(cls.__private_attributes__) - {"_data"}:
        return None
    if cls.__copy__ is not BaseModel.__copy__ or cls.__deepcopy__ is not BaseModel.__deepcopy__:
        return None
    plan: list[tuple[str, tuple[type, ...]]] = []
    for name, field in cls.model_fields.items():
        allowed = None if field.metadata else _allowed_types(field.annotation)
        if allowed is None:
            return None
        plan.append((name, allowed))
    return tuple(plan)


def is_plain(value: Any) -> bool:
    """Whether ``value`` is a model of plain scalars (see the module docstring)."""
    cls = type(value)
    if cls in _plans:
        plan = _plans[cls]
    else:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        plan = _plans[cls] = _plan_for(cls) if issubclass(cls, BaseModel) else None
    if plan is None:
        return False
    fields = value.__dict__
    for name, allowed in plan:
        if type(fields.get(name, ...)) not in allowed:
            return False
    if value.__pydantic_extra__:
        return False
    private = value.__pydantic_private__
    if private:
        data = private.get("_data")
        if data:
            for key, item in data.items():
                if type(key) is not str or type(item) not in _DATA_VALUES:
                    return False
    return True


def copy_plain(value: BaseModel) -> BaseModel:
    """A deep copy of a model ``is_plain`` accepted: a shallow one with its own ``_data``."""
    draft = value.model_copy()
    private = draft.__pydantic_private__
    if private and type(private.get("_data")) is dict:  # not the shared empty one
        private["_data"] = dict(private["_data"])
    return draft
