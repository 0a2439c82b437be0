"""Resources: values built by factories (or loaded from JSON) and injected into steps.

A step parameter typed ``Annotated[T, Resource(factory)]`` receives ``factory()``'s result;
``Annotated[Model, ResourceConfig("file.json")]`` receives ``Model`` validated from the file.
Factories may themselves take resource parameters. A :class:`ResourceManager` owns the cache.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import (
    Annotated,
    Any,
    Generic,
    Protocol,
    TypeVar,
    cast,
    get_args,
    get_origin,
    runtime_checkable,
)

from pydantic import BaseModel, ConfigDict

from reflow._resources.config_file import (
    load_config_data,
    locate_config_file,
    require_json_suffix,
)
from reflow._resources.hints import callable_name, factory_type_hints, is_async_callable

__all__ = [
    "Resource",
    "ResourceConfig",
    "ResourceDefinition",
    "ResourceDescriptor",
    "ResourceManager",
]

T = TypeVar("T")
B = TypeVar("B", bound=BaseModel)


@runtime_checkable
class ResourceDescriptor(Protocol):
    """What a ``ResourceManager`` needs from anything placed in ``Annotated[T, ...]``."""

    @property
    def name(self) -> str:
        """Cache key, shared by every descriptor that should yield the same value."""
        ...

    @property
    def cache(self) -> bool:
        """Keep the value for the manager's lifetime (else only for one resolution scope)."""
        ...

    async def resolve(self, manager: ResourceManager) -> Any: ...

    def set_type_annotation(self, type_annotation: Any) -> None: ...

    def set_localns(self, localns: dict[str, Any] | None) -> None: ...

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, Any]]: ...


class _Resource(Generic[T]):
    """A value produced by calling ``factory`` with its own resource parameters filled in."""

    def __init__(self, factory: Callable[..., T | Awaitable[T]], cache: bool) -> None:
        if not callable(factory):
            raise TypeError(f"Resource factory must be callable, got {factory!r}")
        self._factory = factory
        self._is_async = is_async_callable(factory)
        self.name = callable_name(factory)
        self.cache = cache
        self._localns: dict[str, Any] | None = None

    @property
    def factory(self) -> Callable[..., T | Awaitable[T]]:
        return self._factory

    async def _resolve_dependencies(self, resource_manager: ResourceManager) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for parameter, descriptor, type_annotation in self.get_dependencies():
            # A ResourceConfig learns its model class from the parameter's annotation.
            descriptor.set_type_annotation(type_annotation)
            values[parameter] = await resource_manager.get(descriptor)
        return values

    async def call(self, resource_manager: ResourceManager) -> T:
        """Resolve the factory's resource parameters, then call it (awaiting if async).

        A sync factory runs inline on the event loop, as the peer does.
        """
        kwargs = await self._resolve_dependencies(resource_manager)
        result = self._factory(**kwargs)
        if self._is_async:
            return await cast(Awaitable[T], result)
        return cast(T, result)

    async def resolve(self, manager: ResourceManager) -> T:
        return await self.call(manager)

    def set_type_annotation(self, type_annotation: Any) -> None:
        """Ignored: a factory's result is used as returned, never converted."""

    def set_localns(self, localns: dict[str, Any] | None) -> None:
        """Extra names for evaluating the factory's string annotations."""
        self._localns = localns

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, Any]]:
        """``(parameter, descriptor, T)`` for each ``Annotated[T, <descriptor>, ...]`` parameter.

        Only the first ``Annotated`` metadata item is looked at (peer behaviour): a factory
        parameter ``Annotated[T, "doc", Resource(f)]`` is not injected.
        """
        dependencies: list[tuple[str, ResourceDescriptor, Any]] = []
        for parameter, hint in factory_type_hints(self._factory, self._localns).items():
            if parameter == "return" or get_origin(hint) is not Annotated:
                continue
            inner_type, first_meta = get_args(hint)[:2]
            if isinstance(first_meta, ResourceDescriptor):
                dependencies.append((parameter, first_meta, inner_type))
        return dependencies


class _ResourceConfig(Generic[B]):
    """A pydantic model validated from a JSON file (optionally a nested object inside it)."""

    def __init__(
        self,
        config_file: str,
        path_selector: str | None,
        cls_factory: type[B] | None = None,
        label: str | None = None,
        description: str | None = None,
    ) -> None:
        require_json_suffix(config_file)
        self._original_config_file = config_file
        # Resolved on first use so a workflow module can be imported before the file exists.
        self._resolved_config_file: str | None = None
        self.path_selector = path_selector
        self.cls_factory = cls_factory
        self.label = label
        self.description = description

    @property
    def config_file(self) -> str:
        """Absolute path of the file; raises ``FileNotFoundError`` until it exists."""
        if self._resolved_config_file is None:
            self._resolved_config_file = locate_config_file(self._original_config_file)
        return self._resolved_config_file

    @property
    def name(self) -> str:
        if self.path_selector is None:
            return self._original_config_file
        return f"{self._original_config_file}.{self.path_selector}"

    @property
    def cache(self) -> bool:
        return True

    def call(self) -> B:
        """A fresh model instance validated from the (cached) file contents."""
        model = self.cls_factory
        if model is None:
            raise ValueError("Class factory should be set to a BaseModel subclass before calling")
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ValueError(
                f"ResourceConfig({self._original_config_file!r}) must annotate a pydantic "
                f"BaseModel subclass, got {model!r}"
            )
        data = load_config_data(self.config_file, self.path_selector)
        return model.model_validate(data)

    async def resolve(self, manager: ResourceManager) -> B:
        return self.call()

    def set_type_annotation(self, type_annotation: Any) -> None:
        """Record the model class named by ``Annotated[Model, ResourceConfig(...)]``."""
        self.cls_factory = type_annotation

    def set_localns(self, localns: dict[str, Any] | None) -> None:
        """Ignored: a config has no annotations of its own to evaluate."""

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, Any]]:
        return []


def Resource(factory: Callable[..., T], cache: bool = True) -> _Resource[T]:
    """Mark a parameter as built by ``factory`` (sync or async).

    ``cache=True``: one value per ``ResourceManager``. ``cache=False``: a new value for each
    resolution scope, shared by everything resolved inside that scope.
    """
    return _Resource(factory, cache)


def ResourceConfig(
    config_file: str,
    path_selector: str | None = None,
    label: str | None = None,
    description: str | None = None,
) -> _ResourceConfig[Any]:
    """Mark a parameter as a pydantic model loaded from ``config_file`` (JSON only).

    ``path_selector`` is a dot-separated path to a nested object, e.g. ``"db.primary"``.
    """
    return _ResourceConfig(
        config_file=config_file,
        path_selector=path_selector,
        label=label,
        description=description,
    )


class ResourceDefinition(BaseModel):
    """One resource parameter of a step: its name, descriptor and the ``T`` it is typed as."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str
    resource: ResourceDescriptor
    type_annotation: Any = None


class _Scope:
    """Resolution state of one task: nesting depth, values made so far, names being built."""

    __slots__ = ("depth", "resolving", "values")

    def __init__(self) -> None:
        self.depth = 0
        self.values: dict[str, Any] = {}
        self.resolving: list[str] = []


def _current_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no running event loop
        return None


class ResourceManager:
    """Caches resource values and resolves descriptors, detecting dependency cycles.

    Resolution state is kept per asyncio task, so steps resolving concurrently neither share
    ``cache=False`` values nor mistake each other for a cycle; a ``cache=True`` resource being
    built by one task is awaited (not rebuilt) by another.
    """

    def __init__(self) -> None:
        self.resources: dict[str, Any] = {}
        self._scopes: dict[asyncio.Task[Any] | None, _Scope] = {}
        self._being_built: dict[str, asyncio.Event] = {}

    @contextmanager
    def _scope(self) -> Iterator[_Scope]:
        task = _current_task()
        scope = self._scopes.get(task)
        if scope is None:
            scope = self._scopes[task] = _Scope()
        scope.depth += 1
        try:
            yield scope
        finally:
            scope.depth -= 1
            if scope.depth == 0:
                del self._scopes[task]

    @contextmanager
    def resolution_scope(self) -> Iterator[None]:
        """Within this block, each resource name resolves to one value (scopes nest)."""
        with self._scope():
            yield

    async def set(self, name: str, val: Any) -> None:
        """Store ``val`` as the cached value of resource ``name``."""
        self.resources[name] = val

    async def get(self, resource: ResourceDescriptor) -> Any:
        """The value of ``resource``, building it (and its dependencies) if needed."""
        with self._scope() as scope:
            return await self._get(resource, scope)

    def get_all(self) -> dict[str, Any]:
        """The cache itself (not a copy): every ``cache=True`` value and every ``set`` one."""
        return self.resources

    async def _get(self, resource: ResourceDescriptor, scope: _Scope) -> Any:
        name = resource.name
        # Peer behaviour: inside a scope a name yields the same value whatever its cache flag.
        if name in scope.values:
            return scope.values[name]
        while True:
            if resource.cache and name in self.resources:
                return self.resources[name]
            if name in scope.resolving:
                chain = " -> ".join([*scope.resolving, name])
                raise ValueError(f"Circular resource dependency detected: {chain}")
            in_progress = self._being_built.get(name) if resource.cache else None
            if in_progress is None:
                break
            # Cannot deadlock: a task only suspends inside a factory after all of that
            # factory's dependencies are resolved, so no builder is waiting on this task.
            await in_progress.wait()
        return await self._build(resource, scope)

    async def _build(self, resource: ResourceDescriptor, scope: _Scope) -> Any:
        name = resource.name
        finished: asyncio.Event | None = None
        if resource.cache:
            finished = self._being_built[name] = asyncio.Event()
        scope.resolving.append(name)
        try:
            value = await resource.resolve(self)
            if resource.cache:
                self.resources[name] = value
        finally:
            scope.resolving.pop()
            if finished is not None:
                del self._being_built[name]
                finished.set()
        scope.values[name] = value
        return value


def get_resource_descriptor(annotation: Any) -> ResourceDescriptor | None:
    """The first resource descriptor in ``Annotated[T, ...]`` metadata, else ``None``.

    This is how ``@step`` recognises resource parameters (any metadata position counts).
    """
    if get_origin(annotation) is not Annotated:
        return None
    for meta in get_args(annotation)[1:]:
        if isinstance(meta, ResourceDescriptor):
            return meta
    return None


def resource_definitions_from_hints(
    hints: Mapping[str, Any], localns: dict[str, Any] | None = None
) -> list[ResourceDefinition]:
    """Resource parameters among ``hints`` (``get_type_hints(..., include_extras=True)``).

    ``localns`` (the namespace the step was declared in) is handed to each descriptor so its
    factory's string annotations can name local classes and functions.
    """
    definitions: list[ResourceDefinition] = []
    for parameter, hint in hints.items():
        if parameter == "return":
            continue
        descriptor = get_resource_descriptor(hint)
        if descriptor is None:
            continue
        if localns is not None:
            descriptor.set_localns(localns)
        definitions.append(
            ResourceDefinition(
                name=parameter, resource=descriptor, type_annotation=get_args(hint)[0]
            )
        )
    return definitions


async def resolve_step_resources(
    manager: ResourceManager, definitions: list[ResourceDefinition]
) -> dict[str, Any]:
    """Values for a step's resource parameters, resolved in order within one scope."""
    values: dict[str, Any] = {}
    with manager.resolution_scope():
        for definition in definitions:
            if definition.type_annotation is not None:
                definition.resource.set_type_annotation(definition.type_annotation)
            values[definition.name] = await manager.get(definition.resource)
    return values
