"""The snapshot form of a state store, ``InMemoryStateStore.to_dict()`` / ``from_dict()``.

It is llama-index-workflows' format, so snapshots move between the two engines::

    {"store_type": "in_memory", "state_type": "DictState", "state_module": "...",
     "state_data": {"_data": {key: <serializer string>}}}      # DictState (and subclasses)
    {"store_type": "in_memory", "state_type": "MyState", "state_module": "...",
     "state_data": <serializer string of the whole model>}     # any other model
"""

from __future__ import annotations

import warnings
from typing import Any

from pydantic import BaseModel

from reflow._type_names.resolution import TypeRegistry, import_class
from reflow.context._dict_state import DictState
from reflow.context._serializability import check_serializable, child_path
from reflow.context.serializers import BaseSerializer, JsonSerializer
from reflow.errors import SerializationError

# DictState keys left out of a snapshot, with a warning, when they cannot be serialized
# (llama-index agents keep an unserializable "memory" there).
KNOWN_UNSERIALIZABLE_KEYS = ("memory",)
_ROOT = "state"


class UnserializableKeyWarning(Warning):
    """A known-unserializable ``DictState`` key was left out of a snapshot."""


def encode_state(state: BaseModel, serializer: BaseSerializer) -> dict[str, Any]:
    """The snapshot dict of ``state``; a value that cannot be encoded raises
    ``SerializationError`` naming its path."""

    state_data: Any
    if isinstance(state, DictState):
        state_data = {"_data": _encode_dict_state(state, serializer)}
    else:
        try:
            state_data = serializer.serialize(state)
        except Exception as exc:
            check_serializable(state, _ROOT, serializer)
            raise SerializationError(_ROOT, str(exc)) from exc
    return {
        "store_type": "in_memory",
        "state_type": type(state).__name__,
        "state_module": type(state).__module__,
        "state_data": state_data,
    }


def _encode_dict_state(state: DictState, serializer: BaseSerializer) -> dict[str, str]:
    encoded: dict[str, str] = {}
    for key, value in state.items():
        try:
            encoded[key] = serializer.serialize(value)
        except Exception as exc:
            if key in KNOWN_UNSERIALIZABLE_KEYS:
                warnings.warn(
                    f"State key {key!r} cannot be serialized and is left out of the snapshot; "
                    "set it again after restoring.",
                    UnserializableKeyWarning,
                    stacklevel=4,
                )
                continue
            key_path = child_path(_ROOT, key, attribute=True)
            check_serializable(value, key_path, serializer)
            raise SerializationError(key_path, str(exc)) from exc
    return encoded


def decode_state(
    serialized: dict[str, Any], serializer: BaseSerializer, type_registry: TypeRegistry | None
) -> BaseModel:
    """The state model a snapshot dict describes; malformed input raises ``ValueError``."""

    store_type = serialized.get("store_type", "in_memory")
    if store_type != "in_memory":
        # The peer's wording, which code written against it may match.
        raise ValueError(
            f"Cannot parse store_type {store_type!r} as InMemorySerializedState. "
            "Use the appropriate store's from_dict() method."
        )
    data = serialized.get("state_data")
    if data is None:
        return DictState()
    if isinstance(data, dict) and "_data" in data:
        state = _dict_state_class(serialized, serializer, type_registry)()
        for key, text in (data["_data"] or {}).items():
            try:
                state[key] = _deserialize(serializer, text, type_registry)
            except Exception as exc:
                raise ValueError(
                    f"Failed to deserialize state value for key {key!r}: {exc}"
                ) from exc
        return state
    if isinstance(data, str):
        model = _deserialize(serializer, data, type_registry)
    elif (
        isinstance(data, dict)
        and data.get("__is_pydantic")
        and isinstance(serializer, JsonSerializer)
    ):
        model = serializer.deserialize_value(data, type_registry=type_registry)
    else:
        raise ValueError(
            "Unrecognized state payload: state_data must be a serialized model string or "
            f"a {{'_data': {{...}}}} dict, got {type(data).__name__}"
        )
    if not isinstance(model, BaseModel):
        raise ValueError(f"state_data decoded to a {type(model).__name__}, not a pydantic model")
    return model


def _dict_state_class(
    serialized: dict[str, Any], serializer: BaseSerializer, type_registry: TypeRegistry | None
) -> type[DictState]:
    """The DictState subclass a ``_data`` snapshot names, or DictState itself."""

    name = serialized.get("state_type")
    module = serialized.get("state_module")
    if name in (None, "DictState") or not module:
        return DictState
    qualified = f"{module}.{name}"
    try:
        if isinstance(serializer, JsonSerializer):
            found = serializer.resolve_class(qualified, type_registry=type_registry)
        else:
            found = import_class(qualified)
    except Exception:
        return DictState
    return found if issubclass(found, DictState) else DictState


def _deserialize(serializer: BaseSerializer, text: str, type_registry: TypeRegistry | None) -> Any:
    if type_registry is not None and isinstance(serializer, JsonSerializer):
        return serializer.deserialize(text, type_registry=type_registry)
    return serializer.deserialize(text)
