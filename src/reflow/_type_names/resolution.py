"""Turning the class names written in snapshots back into classes.

A serialized pydantic model or component carries ``qualified_name``.  Three kinds of name reach
this module:

* reflow's own form, ``module.Outer.Inner`` (``__qualname__``), which also names classes
  defined inside functions (``module.build.<locals>.MyEvent``);
* the peer's form, ``module.Inner`` (``__name__`` only), found in llama-index-workflows
  snapshots;
* the peer's package names, ``workflows.events.StopEvent``, which map onto ``reflow.…``.

Classes that cannot be imported by name (locally defined ones) are found through registries:
the serializer's own (``allowed_types`` / ``with_types``) and a per-call ``type_registry``.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast

from reflow._type_names.qualname import import_qualified_name, qualified_name

TypeRegistry = Mapping[str, type[Any]]
ClassResolver = Callable[[str], type[Any]]

# Names that two different classes claim in the peer's short form; looking one up is an error.
_AMBIGUOUS = object()

_PEER_PREFIXES = ("llama_agents.workflows.", "workflows.")

# Filled by the modules that define the classes (reflow.events, reflow.context.state_store).
_framework_types: dict[str, Any] = {}

_active_resolver: contextvars.ContextVar[ClassResolver | None] = contextvars.ContextVar(
    "reflow_active_class_resolver", default=None
)


def serialized_names(cls: type[Any]) -> tuple[str, ...]:
    """Every name under which ``cls`` may appear in a snapshot: reflow's form, then the peer's."""
    full = qualified_name(cls)
    short = f"{cls.__module__}.{cls.__name__}"
    return (full,) if short == full else (full, short)


def peer_to_reflow_name(name: str) -> str | None:
    """``workflows.events.StopEvent`` -> ``reflow.events.StopEvent``; None for other names."""
    for prefix in _PEER_PREFIXES:
        if name.startswith(prefix):
            return "reflow." + name[len(prefix) :]
    return None


def register_into(registry: dict[str, Any], cls: type[Any]) -> None:
    """Add ``cls`` under its serialized names.

    Two classes with the same full name cannot be told apart in a snapshot, so that raises.  When
    they only share the peer's short name, the short name becomes ambiguous instead: records in
    reflow's form still resolve, and a record in the short form raises when it is read.
    """
    full, *aliases = serialized_names(cls)
    existing = registry.get(full)
    if existing is not None and existing is not _AMBIGUOUS and existing is not cls:
        raise ValueError(
            f"Two classes are serialized as {full!r}: {existing!r} and {cls!r}. A snapshot "
            "cannot say which one it means, so only one of them can be registered."
        )
    registry[full] = cls
    for alias in aliases:
        current = registry.get(alias)
        if current is None:
            registry[alias] = cls
        elif current is not cls:
            registry[alias] = _AMBIGUOUS


def register_framework_types(*classes: type[Any]) -> None:
    """Make reflow-owned classes resolvable by every serializer, whatever its ``allowed_types``."""
    for cls in classes:
        register_into(_framework_types, cls)
        peer_name = _reflow_to_peer_name(qualified_name(cls))
        if peer_name is not None:
            _framework_types.setdefault(peer_name, cls)


def _reflow_to_peer_name(name: str) -> str | None:
    return "workflows." + name[len("reflow.") :] if name.startswith("reflow.") else None


def lookup_registered(registry: Mapping[str, Any], name: str) -> type[Any] | None:
    """Find ``name`` in a registry built by :func:`register_into`; None when absent."""
    found = registry.get(name)
    if found is _AMBIGUOUS:
        raise ValueError(
            f"{name!r} names more than one registered class; record the class under its full "
            "qualified name (module.Outer.Inner) to say which one"
        )
    return cast("type[Any] | None", found)


def lookup_type_registry(registry: TypeRegistry, name: str) -> type[Any] | None:
    """Find ``name`` in a caller's ``{qualified name: class}`` mapping.

    The keys are trusted first; failing that, a class whose reflow or peer name is ``name``.
    """
    found = registry.get(name)
    if found is not None:
        return found
    matches = {cls for cls in registry.values() if name in serialized_names(cls)}
    if len(matches) > 1:
        raise ValueError(
            f"{name!r} matches several classes in type_registry: {sorted(map(repr, matches))}"
        )
    return matches.pop() if matches else None


def lookup_framework(name: str) -> type[Any] | None:
    return lookup_registered(_framework_types, name)


def import_class(name: str) -> type[Any]:
    """Import the class called ``name``; peer package names are tried as reflow's first."""
    if "." not in name:
        raise ValueError(f"Qualified name must look like 'module.Class', got {name!r}")
    reflow_name = peer_to_reflow_name(name)
    if reflow_name is not None:
        try:
            return _require_class(import_qualified_name(reflow_name), reflow_name)
        except ImportError:
            pass
    try:
        obj = import_qualified_name(name)
    except ImportError as exc:
        hint = (
            " It was defined inside a function, so it cannot be imported by name."
            if "<locals>" in name
            else " If it is defined inside a function, it cannot be imported by name."
        )
        raise ImportError(
            f"{exc}.{hint} Register the class: JsonSerializer(allowed_types=[cls]), "
            "serializer.with_types(cls) or type_registry={name: cls}."
        ) from exc
    return _require_class(obj, name)


def _require_class(obj: Any, name: str) -> type[Any]:
    if not isinstance(obj, type):
        raise ValueError(f"{name!r} does not name a class (it is a {type(obj).__name__})")
    return obj


@contextmanager
def resolver_in_effect(resolver: ClassResolver) -> Iterator[None]:
    """Let nested validators (events inside events) resolve names as ``resolver`` does."""
    token = _active_resolver.set(resolver)
    try:
        yield
    finally:
        _active_resolver.reset(token)


def resolve_serialized_class(name: str) -> type[Any]:
    """Resolve a class name the way the serializer currently decoding would.

    Pydantic validators of nested serialized events should call this rather than importing, so
    that classes registered on the serializer (or in a ``type_registry``) are found.  Outside a
    decode it resolves framework classes, then imports.
    """
    resolver = _active_resolver.get()
    if resolver is not None:
        return resolver(name)
    return lookup_framework(name) or import_class(name)


def class_entries(entries: Iterable[type[Any] | str]) -> tuple[list[type[Any]], set[str]]:
    """Split ``allowed_types`` into classes and legacy name strings; anything else is an error."""
    classes: list[type[Any]] = []
    names: set[str] = set()
    for entry in entries:
        if isinstance(entry, str):
            names.add(entry)
        elif isinstance(entry, type):
            classes.append(entry)
        else:
            raise TypeError(
                "allowed_types entries must be classes or qualified-name strings, "
                f"got {entry!r} ({type(entry).__name__})"
            )
    return classes, names
