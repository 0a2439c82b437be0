"""Reading what a resource factory is called and which annotations its parameters carry.

A factory may be a function, a method, a class, a ``functools.partial`` or any object with a
``__call__`` method; each needs a different object handed to ``typing.get_type_hints``.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any, get_type_hints


def callable_name(factory: Callable[..., Any]) -> str:
    """The resource cache key: the factory's ``__qualname__``, else its type's name."""
    name = getattr(factory, "__qualname__", None)
    return name if isinstance(name, str) else type(factory).__name__


def is_async_callable(factory: Callable[..., Any]) -> bool:
    """Whether calling ``factory`` returns a coroutine that must be awaited."""
    if inspect.iscoroutinefunction(factory):
        return True
    if inspect.isroutine(factory) or inspect.isclass(factory):
        return False
    # A plain object whose ``__call__`` is ``async def``.
    return inspect.iscoroutinefunction(type(factory).__call__)


def factory_type_hints(
    factory: Callable[..., Any], localns: dict[str, Any] | None
) -> dict[str, Any]:
    """Parameter (and ``return``) annotations of ``factory`` with ``Annotated`` extras kept.

    ``localns`` supplies names the factory's module does not define (for example classes local
    to the function that declared a step); a name the module defines always wins over it.
    When an annotation names something that cannot be found, the raw annotations are returned
    instead, so string annotations stay unevaluated and are simply not recognised.
    """
    target, bound_names = _hint_target(factory)
    namespace = _names_missing_from_module(target, localns)
    try:
        hints = get_type_hints(target, localns=namespace, include_extras=True)
    except NameError:
        hints = dict(getattr(target, "__annotations__", None) or {})
    return {name: hint for name, hint in hints.items() if name not in bound_names}


def _hint_target(factory: Callable[..., Any]) -> tuple[Any, frozenset[str]]:
    """The object whose annotations describe ``factory``'s call, and names already supplied."""
    if isinstance(factory, functools.partial):
        target, bound = _hint_target(factory.func)
        remaining = inspect.signature(factory).parameters
        supplied = {
            name for name in inspect.signature(factory.func).parameters if name not in remaining
        }
        return target, bound | supplied | frozenset(factory.keywords)
    if inspect.isroutine(factory) or inspect.isclass(factory):
        return factory, frozenset()
    # A callable instance: its bound ``__call__`` carries the annotations (minus ``self``).
    instance: Any = factory
    return instance.__call__, frozenset()


def _names_missing_from_module(
    target: Any, localns: dict[str, Any] | None
) -> dict[str, Any] | None:
    if not localns:
        return None
    module_globals: dict[str, Any] | None = getattr(target, "__globals__", None)
    if module_globals is None:
        module = sys.modules.get(getattr(target, "__module__", "") or "")
        module_globals = vars(module) if module is not None else {}
    return {name: value for name, value in localns.items() if name not in module_globals}
