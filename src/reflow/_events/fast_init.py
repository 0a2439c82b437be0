"""Building events cheaply: a precomputed private-attribute init, a shared empty fields-set,
and construction without validation for the engine's own notices."""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel

_ModelT = TypeVar("_ModelT", bound=BaseModel)


class _NoFieldsSet(set[str]):
    """The fields-set of every event built with no field given (``Done()``, ``StartEvent()``).

    An empty ``set`` costs 216 bytes, and most events a run holds set no field.  This one
    instance is shared and never written: ``DictLikeModel.__setattr__`` gives an event its own
    set before pydantic records a field in it, and a copy (``model_copy``, ``deepcopy``, a
    pickle) is a plain new set.  Anything else that tries to write to it fails loudly.
    """

    __slots__ = ()

    def _refuse(self, *args: Any) -> NoReturn:
        raise TypeError("the shared empty fields-set of events cannot be changed")

    add = discard = remove = pop = clear = update = _refuse
    difference_update = intersection_update = symmetric_difference_update = _refuse
    __ior__ = __iand__ = __isub__ = __ixor__ = _refuse

    def __repr__(self) -> str:
        return "set()"

    def __copy__(self) -> set[str]:
        return set()

    def __deepcopy__(self, memo: dict[int, Any]) -> set[str]:
        return set()

    def __reduce__(self) -> tuple[type[set[str]], tuple[()]]:
        return (set, ())


NO_FIELDS_SET: set[str] = _NoFieldsSet()


class _NoData(dict[str, Any]):
    """The ``_data`` of every event built without undeclared fields (most of them).

    An empty dict costs 64 bytes per event.  ``DataMapping`` hands out a dict of the event's
    own the first time ``_data`` is asked for, so this shared one is only ever read; a copy or
    a pickle of it is a plain new dict, and anything that tries to write to it fails loudly.
    """

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("the shared empty _data of events cannot be changed")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __repr__(self) -> str:
        return "{}"

    def __copy__(self) -> dict[str, Any]:
        return {}

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        return {}

    def __reduce__(self) -> tuple[type[dict[str, Any]], tuple[()]]:
        return (dict, ())


NO_DATA: dict[str, Any] = _NoData()


def own_fields_set(model: BaseModel) -> None:
    """Give ``model`` a fields-set of its own before a field is written."""
    if model.__pydantic_fields_set__ is NO_FIELDS_SET:
        object.__setattr__(model, "__pydantic_fields_set__", set())


def install_fast_private_init(cls: type[BaseModel]) -> None:
    """Replace pydantic's generic private-attribute initialisation with a precomputed one.

    Events are built on every step, and pydantic's version (a wrapper per class level that
    deep-copies each default) cost more than validating the fields.  A class that defines its
    own ``model_post_init`` keeps pydantic's wrapper, which calls it.  The same hook swaps an
    empty fields-set for ``NO_FIELDS_SET``.
    """
    current = getattr(cls.model_post_init, "__name__", "")
    if current not in ("init_private_attributes", "_fast_private_init"):
        return
    factories: list[tuple[str, Any]] = []
    constants: dict[str, Any] = {}
    for name, attr in cls.__private_attributes__.items():
        factory = getattr(attr, "default_factory", None)
        default = getattr(attr, "default", None)
        if name == "_data" and factory is dict:
            constants[name] = NO_DATA  # replaced by a dict of its own on first use
        elif factory is not None:
            factories.append((name, factory))
        elif default is None or isinstance(default, (int, float, str, bool, bytes, tuple)):
            constants[name] = default
        else:
            factories.append((name, attr.get_default))

    def _fast_private_init(self: BaseModel, context: Any, /) -> None:
        private = dict(constants)
        for name, factory in factories:
            private[name] = factory()
        object.__setattr__(self, "__pydantic_private__", private)
        if not self.__pydantic_fields_set__:
            object.__setattr__(self, "__pydantic_fields_set__", NO_FIELDS_SET)

    cls.model_post_init = _fast_private_init  # type: ignore[method-assign]


def construct_trusted(
    cls: type[_ModelT], fields: dict[str, Any], fields_set: set[str] | None = None
) -> _ModelT:
    """Build an event from already valid field values, skipping validation.

    Only for the engine's own notices (one per step start and end), whose fields it builds
    itself; a third of the per-step cost was pydantic validating them.  ``fields_set`` may be
    shared between notices that set every field: pydantic only ever adds field names to it.
    """
    event = cls.__new__(cls)
    object.__setattr__(event, "__dict__", fields)
    object.__setattr__(
        event, "__pydantic_fields_set__", set(fields) if fields_set is None else fields_set
    )
    object.__setattr__(event, "__pydantic_extra__", None)
    object.__setattr__(event, "__pydantic_private__", {"_data": NO_DATA})
    return event
