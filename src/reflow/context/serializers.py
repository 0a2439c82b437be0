"""Serializers: how context values, events and state become strings, and back.

The string formats are llama-index-workflows' own, so snapshots move between the two engines:

* a pydantic model (events included) is
  ``{"__is_pydantic": true, "value": model.model_dump(mode="json"), "qualified_name": "m.Cls"}``;
* a llama-index component (a class with ``class_name`` and an instance ``to_dict``) is
  ``{"__is_component": true, "value": obj.to_dict(), "qualified_name": "m.Cls"}`` and comes back
  through ``Cls.from_dict``;
* dicts and lists are walked; everything else goes to ``json.dumps`` as it is.

One difference: reflow writes a class's ``__qualname__`` (``m.Outer.Inner``,
``m.build.<locals>.Ev``) where the peer writes ``__name__`` (``m.Inner``).  For module-level
classes the two are the same; for nested ones only reflow's form can be imported.  Both forms
are read.  Classes that cannot be imported (defined inside a function) resolve through
``allowed_types`` / ``with_types`` or a per-call ``type_registry``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import io
import json
import pickle
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel

from reflow._type_names import resolution as _types
from reflow._type_names.qualname import qualified_name
from reflow._type_names.resolution import TypeRegistry
from reflow.events import Event, serialize_event

_MAX_VALUE_TEXT = 300


class BaseSerializer(ABC):
    """Turns values into strings and back; used by the context and the state store."""

    @abstractmethod
    def serialize(self, value: Any) -> str:
        """Encode ``value`` as a string."""

    @abstractmethod
    def deserialize(self, value: str) -> Any:
        """Rebuild the value that :meth:`serialize` encoded as ``value``."""

    @contextmanager
    def validation_context(self) -> Iterator[None]:
        """Run a block with this serializer resolving class names for nested validators.

        The base serializer resolves no class names, so this does nothing.
        """
        yield


class JsonSerializer(BaseSerializer):
    """JSON serializer that rebuilds pydantic models and llama-index components by class name.

    ``allowed_types`` limits which class names may be rebuilt.  ``None`` (the default) imports
    any name.  Classes in it are registered under their serialized names and rebuilt without an
    import, which is how classes defined inside functions are found.  Strings in it are names
    that may be imported.  reflow's own classes always resolve.

    A value that is not a model, a component, a dict, a list or plain JSON data raises
    ``ValueError``.
    """

    def __init__(self, *, allowed_types: Iterable[type[Any] | str] | None = None) -> None:
        self._registered_types: dict[str, Any] = {}
        self._allowed_type_names: frozenset[str] | None = None
        if allowed_types is not None:
            classes, names = _types.class_entries(allowed_types)
            for cls in classes:
                _types.register_into(self._registered_types, cls)
                names.update(_types.serialized_names(cls))
            self._allowed_type_names = frozenset(names)

    def with_types(self, *classes: type[Any]) -> JsonSerializer:
        """Return a copy of this serializer that also resolves ``classes`` by name.

        Unlike the peer, this also works on a serializer without ``allowed_types``: the copy
        still imports any other name.
        """
        clone = copy.copy(self)
        clone._registered_types = dict(self._registered_types)
        added: set[str] = set()
        for cls in _types.class_entries(classes)[0]:
            _types.register_into(clone._registered_types, cls)
            added.update(_types.serialized_names(cls))
        if self._allowed_type_names is not None:
            clone._allowed_type_names = self._allowed_type_names | added
        return clone

    def resolve_class(
        self, qualified_name: str, *, type_registry: TypeRegistry | None = None
    ) -> type[Any]:
        """Find the class a record names.

        Order: ``type_registry``, this serializer's registered classes, reflow's own classes,
        then an import (only of names ``allowed_types`` permits).
        """
        if type_registry is not None:
            found = _types.lookup_type_registry(type_registry, qualified_name)
            if found is not None:
                return found
        found = _types.lookup_registered(self._registered_types, qualified_name)
        if found is not None:
            return found
        found = _types.lookup_framework(qualified_name)
        if found is not None:
            return found
        allowed = self._allowed_type_names
        if allowed is not None and qualified_name not in allowed:
            raise ValueError(
                f"Class {qualified_name} is not in the serializer's allowed types. Pass "
                f"{type(self).__name__}(allowed_types=[<the class>]) to allow it, or "
                f"{type(self).__name__}() to resolve classes by import path."
            )
        return _types.import_class(qualified_name)

    @contextmanager
    def validation_context(self) -> Iterator[None]:
        """Run a block with this serializer resolving class names for nested validators."""
        with _types.resolver_in_effect(self.resolve_class):
            yield

    def serialize_value(self, value: Any) -> Any:
        """Replace models and components by their tagged dicts, walking dicts and lists.

        Other values are returned unchanged (tuples and sets included), so the result is JSON
        data only when every leaf already was.
        """
        if _is_component(value):
            return {
                "__is_component": True,
                "value": value.to_dict(),
                "qualified_name": qualified_name(type(value)),
            }
        if isinstance(value, Event):
            return serialize_event(value)
        if isinstance(value, BaseModel):
            return {
                "__is_pydantic": True,
                "value": value.model_dump(mode="json"),
                "qualified_name": qualified_name(type(value)),
            }
        if isinstance(value, dict):
            return {key: self.serialize_value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.serialize_value(item) for item in value]
        return value

    def deserialize_value(self, data: Any, *, type_registry: TypeRegistry | None = None) -> Any:
        """Rebuild models and components from their tagged dicts, walking dicts and lists."""

        def resolve(name: str) -> type[Any]:
            return self.resolve_class(name, type_registry=type_registry)

        with _types.resolver_in_effect(resolve):
            return _decode(data, resolve)

    def serialize(self, value: Any) -> str:
        try:
            return json.dumps(self.serialize_value(value))
        except Exception as exc:
            raise ValueError(
                f"Failed to serialize value: {type(value)}: {_value_text(value)}"
            ) from exc

    def deserialize(self, value: str, *, type_registry: TypeRegistry | None = None) -> Any:
        return self.deserialize_value(json.loads(value), type_registry=type_registry)


class PickleSerializer(JsonSerializer):
    """JSON when the value allows it, otherwise base64-encoded pickle.

    Decoding tries pickle first and then JSON.  Unpickling runs arbitrary code: only read
    payloads you trust.
    """

    def serialize(self, value: Any) -> str:
        try:
            return super().serialize(value)
        except ValueError:
            pass
        try:
            payload = pickle.dumps(value)
        except Exception as exc:
            raise ValueError(
                f"Failed to serialize value as JSON or pickle: {type(value)}: {exc}"
            ) from exc
        return base64.b64encode(payload).decode("ascii")

    def deserialize(self, value: str, *, type_registry: TypeRegistry | None = None) -> Any:
        try:
            payload = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            payload = None
        if payload:
            try:
                return _PeerAwareUnpickler(io.BytesIO(payload)).load()
            except Exception:
                pass
        return super().deserialize(value, type_registry=type_registry)


class _PeerAwareUnpickler(pickle.Unpickler):
    """Unpickles payloads the peer wrote: its classes (``workflows.events.StartEvent``) are read
    as reflow's of the same name, whether or not the peer is installed too (llama-index-core
    installs it): a run restored here runs on reflow's events, and the peer's would not route.
    A peer class reflow does not have is the peer's own."""

    def find_class(self, module: str, name: str) -> Any:
        mapped = _types.peer_to_reflow_name(f"{module}.{name}")
        if mapped is not None:
            with contextlib.suppress(ImportError, AttributeError):
                return super().find_class(mapped[: -len(name) - 1], name)
        return super().find_class(module, name)


JsonPickleSerializer = PickleSerializer


def _is_component(value: Any) -> bool:
    # The class, not the instance, must define class_name: an event's dynamic field called
    # "class_name" does not make it a component.
    return callable(getattr(type(value), "class_name", None)) and callable(
        getattr(value, "to_dict", None)
    )


def _decode(data: Any, resolve: _types.ClassResolver) -> Any:
    if isinstance(data, dict):
        name = data.get("qualified_name")
        if data.get("__is_pydantic") and isinstance(name, str):
            cls = resolve(name)
            if not issubclass(cls, BaseModel):
                raise ValueError(f"{name!r} is tagged as a pydantic model but is not one")
            return cls.model_validate(data.get("value", {}))
        if data.get("__is_component") and isinstance(name, str):
            cls = resolve(name)
            from_dict = getattr(cls, "from_dict", None)
            if not callable(from_dict):
                raise ValueError(f"Component class {name!r} has no from_dict() to rebuild it")
            return from_dict(data.get("value", {}))
        return {key: _decode(item, resolve) for key, item in data.items()}
    if isinstance(data, list):
        return [_decode(item, resolve) for item in data]
    return data


def _value_text(value: Any) -> str:
    try:
        text = str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"
    return text if len(text) <= _MAX_VALUE_TEXT else text[:_MAX_VALUE_TEXT] + "..."


__all__ = [
    "BaseSerializer",
    "JsonPickleSerializer",
    "JsonSerializer",
    "PickleSerializer",
]
