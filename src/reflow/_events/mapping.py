"""The mapping face of an event: undeclared keyword arguments live in a private ``_data`` dict
and read as attributes or items (``Event(topic="x").topic == Event(topic="x")["topic"]``)."""

from __future__ import annotations

from collections.abc import ItemsView, Iterator, KeysView, ValuesView
from typing import TYPE_CHECKING, Any

from reflow._events.fast_init import NO_DATA, own_fields_set


class DataMapping:
    """Mixed into ``DictLikeModel`` (a pydantic model declaring the private ``_data``)."""

    __slots__ = ()

    if TYPE_CHECKING:
        _data: dict[str, Any]
        __pydantic_private__: dict[str, Any] | None
        __private_attributes__: dict[str, Any]
        model_fields: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        if name == "_data":
            private = self.__pydantic_private__
            if private is not None and "_data" in private:
                data = private["_data"]
                if data is NO_DATA:  # the shared empty one: this event gets its own now
                    data = private["_data"] = {}
                return data
        if name.startswith("__"):
            raise AttributeError(name)
        try:
            return super().__getattr__(name)  # type: ignore[misc]
        except AttributeError:
            data = self.__pydantic_private__ or {}
            if "_data" in data and name in data["_data"]:
                return data["_data"][name]
            raise AttributeError(
                f"{type(self).__name__!r} object has no attribute {name!r}"
            ) from None

    def __setattr__(self, name: str, value: Any) -> None:
        if name in type(self).model_fields:
            own_fields_set(self)  # type: ignore[arg-type]
            super().__setattr__(name, value)
        elif name in self.__private_attributes__:
            super().__setattr__(name, value)
        else:
            self._data[name] = value

    def _read_data(self) -> dict[str, Any]:
        """``_data`` for reading: the shared empty one stays shared."""
        private = self.__pydantic_private__
        data: dict[str, Any] = (private or {}).get("_data") or NO_DATA
        return data

    def __getitem__(self, key: str) -> Any:
        return self._read_data()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self._read_data()

    def __len__(self) -> int:
        return len(self._read_data())

    def __iter__(self) -> Iterator[str]:
        return iter(self._read_data())

    def __bool__(self) -> bool:
        return True

    def get(self, key: str, default: Any = None) -> Any:
        return self._read_data().get(key, default)

    def keys(self) -> KeysView[str]:
        return self._read_data().keys()

    def values(self) -> ValuesView[Any]:
        return self._read_data().values()

    def items(self) -> ItemsView[str, Any]:
        return self._read_data().items()

    def to_dict(self) -> dict[str, Any]:
        return self._data
