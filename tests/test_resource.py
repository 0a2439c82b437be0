"""Tests for reflow.resource: factories, caching scopes, dependencies, cycles and JSON configs."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from reflow._resources.config_file import load_config_data, select_path
from reflow.resource import (
    Resource,
    ResourceConfig,
    ResourceDefinition,
    ResourceDescriptor,
    ResourceManager,
    get_resource_descriptor,
    resolve_step_resources,
    resource_definitions_from_hints,
)

# --- module-level factories (string annotations need module globals) ------------------------

counter = {"n": 0}


def next_number() -> int:
    counter["n"] += 1
    return counter["n"]


async def next_number_async() -> int:
    await asyncio.sleep(0)
    counter["n"] += 1
    return counter["n"]


def pair(
    first: Annotated[int, Resource(next_number, cache=False)],
    second: Annotated[int, Resource(next_number, cache=False)],
) -> tuple[int, int]:
    return first, second


def wrap_pair(
    inner: Annotated[tuple[int, int], Resource(pair, cache=False)],
    own: Annotated[int, Resource(next_number, cache=False)],
) -> tuple[tuple[int, int], int]:
    return inner, own


def cycle_a(value: Annotated[int, Resource(cycle_b)]) -> int:
    return value


def cycle_b(value: Annotated[int, Resource(cycle_a)]) -> int:
    return value


def cycle_self(value: Annotated[int, Resource(cycle_self)]) -> int:
    return value


def ring_1(value: Annotated[int, Resource(ring_2)]) -> int:
    return value


def ring_2(value: Annotated[int, Resource(ring_3)]) -> int:
    return value


def ring_3(value: Annotated[int, Resource(ring_1)]) -> int:
    return value


def enters_ring(value: Annotated[int, Resource(ring_1)]) -> int:
    return value


def uncached_cycle_a(value: Annotated[int, Resource(uncached_cycle_b, cache=False)]) -> int:
    return value


def uncached_cycle_b(value: Annotated[int, Resource(uncached_cycle_a, cache=False)]) -> int:
    return value


class Settings(BaseModel):
    host: str
    port: int


@pytest.fixture(autouse=True)
def _fresh_state() -> Iterator[None]:
    counter["n"] = 0
    load_config_data.cache_clear()
    yield
    load_config_data.cache_clear()


# --- Resource: construction ------------------------------------------------------------------


def make_inner() -> Any:
    def inner() -> int:
        return 1

    return inner


class Holder:
    def method(self) -> int:
        return 1


class CallMe:
    def __call__(self) -> str:
        return "called"


def test_resource_name_is_the_factory_qualname() -> None:
    assert Resource(next_number).name == "next_number"
    assert Resource(make_inner()).name == "make_inner.<locals>.inner"
    assert Resource(Holder().method).name == "Holder.method"
    assert (
        Resource(lambda: 1).name == "test_resource_name_is_the_factory_qualname.<locals>.<lambda>"
    )
    assert Resource(int).name == "int"


def test_resource_name_falls_back_to_the_type_name() -> None:
    assert Resource(CallMe()).name == "CallMe"
    assert Resource(functools.partial(next_number)).name == "partial"


def test_resource_keeps_factory_and_cache_flag() -> None:
    cached = Resource(next_number)
    assert cached.cache is True
    assert cached.factory is next_number
    assert cached._factory is next_number
    assert Resource(next_number, cache=False).cache is False


def test_resource_rejects_non_callable_factory() -> None:
    with pytest.raises(TypeError, match="Resource factory must be callable, got 5"):
        Resource(5)  # type: ignore[arg-type]


def test_resource_is_a_resource_descriptor() -> None:
    assert isinstance(Resource(next_number), ResourceDescriptor)
    assert isinstance(ResourceConfig("x.json"), ResourceDescriptor)
    assert not isinstance(object(), ResourceDescriptor)


# --- Resource: calling factories -------------------------------------------------------------


async def test_sync_factory_runs_inline_on_the_loop_thread() -> None:
    seen: list[int] = []

    def record_thread() -> None:
        seen.append(threading.get_ident())

    await ResourceManager().get(Resource(record_thread))
    assert seen == [threading.get_ident()]


async def test_async_factory_is_awaited() -> None:
    assert await ResourceManager().get(Resource(next_number_async)) == 1


async def test_callable_instance_with_async_call_is_awaited() -> None:
    class AsyncCall:
        async def __call__(self) -> str:
            return "async"

    assert Resource(AsyncCall())._is_async
    assert await ResourceManager().get(Resource(AsyncCall())) == "async"
    assert await ResourceManager().get(Resource(CallMe())) == "called"


async def test_coroutine_returned_by_sync_factory_is_not_awaited() -> None:
    async def make() -> int:
        return 1

    def sync_returning_coroutine() -> Any:
        return make()

    value = await ResourceManager().get(Resource(sync_returning_coroutine))
    assert asyncio.iscoroutine(value)
    value.close()


async def test_factory_error_propagates_and_is_not_cached() -> None:
    attempts: list[int] = []

    def flaky() -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first call fails")
        return "ok"

    manager = ResourceManager()
    with pytest.raises(RuntimeError, match="first call fails"):
        await manager.get(Resource(flaky))
    assert manager.get_all() == {}
    assert await manager.get(Resource(flaky)) == "ok"


# --- caching ---------------------------------------------------------------------------------


async def test_cached_resource_is_built_once_per_manager() -> None:
    manager = ResourceManager()
    assert await manager.get(Resource(next_number)) == 1
    assert await manager.get(Resource(next_number)) == 1
    assert manager.get_all() == {"next_number": 1}
    assert await ResourceManager().get(Resource(next_number)) == 2


async def test_cache_key_is_the_qualname_not_the_function() -> None:
    def build() -> str:
        return "first"

    first = build

    def build() -> str:  # type: ignore[no-redef]
        return "second"

    manager = ResourceManager()
    assert await manager.get(Resource(first)) == "first"
    assert await manager.get(Resource(build)) == "first"


async def test_uncached_resource_is_fresh_for_each_get() -> None:
    manager = ResourceManager()
    assert await manager.get(Resource(next_number, cache=False)) == 1
    assert await manager.get(Resource(next_number, cache=False)) == 2
    assert manager.get_all() == {}


async def test_uncached_resource_is_shared_within_a_resolution_scope() -> None:
    manager = ResourceManager()
    with manager.resolution_scope():
        first = await manager.get(Resource(next_number, cache=False))
        with manager.resolution_scope():
            nested = await manager.get(Resource(next_number, cache=False))
        after_nested = await manager.get(Resource(next_number, cache=False))
    assert first == nested == after_nested == 1
    assert await manager.get(Resource(next_number, cache=False)) == 2


async def test_one_get_is_one_scope_for_its_dependency_graph() -> None:
    manager = ResourceManager()
    assert await manager.get(Resource(wrap_pair, cache=False)) == ((1, 1), 1)
    assert await manager.get(Resource(wrap_pair, cache=False)) == ((2, 2), 2)


async def test_cached_request_in_scope_reuses_the_scoped_value() -> None:
    manager = ResourceManager()
    with manager.resolution_scope():
        scoped = await manager.get(Resource(next_number, cache=False))
        cached = await manager.get(Resource(next_number))
    assert scoped == cached == 1
    assert manager.get_all() == {}


async def test_set_value_is_served_to_cached_but_not_uncached_requests() -> None:
    manager = ResourceManager()
    await manager.set("next_number", "preset")
    assert await manager.get(Resource(next_number)) == "preset"
    assert await manager.get(Resource(next_number, cache=False)) == 1


async def test_get_all_returns_the_cache_itself() -> None:
    manager = ResourceManager()
    await manager.set("a", 1)
    assert manager.get_all() is manager.resources
    assert manager.get_all() == {"a": 1}


def test_resolution_scope_works_without_an_event_loop() -> None:
    manager = ResourceManager()
    with manager.resolution_scope(), manager.resolution_scope():
        pass
    assert manager._scopes == {}


# --- dependencies ----------------------------------------------------------------------------


async def test_nested_dependencies_mix_sync_and_async() -> None:
    async def database(url: Annotated[str, Resource(lambda: "db://x")]) -> str:
        return f"conn({url})"

    def service(
        conn: Annotated[str, Resource(database)],
        number: Annotated[int, Resource(next_number_async)],
    ) -> str:
        return f"{conn}+{number}"

    resource = Resource(service)
    resource.set_localns(locals())  # ``database`` is local; annotations here are strings
    manager = ResourceManager()
    assert await manager.get(resource) == "conn(db://x)+1"
    assert set(manager.get_all()) == {
        "<lambda>",  # created when the string annotation is evaluated, outside any function
        "test_nested_dependencies_mix_sync_and_async.<locals>.database",
        "next_number_async",
        "test_nested_dependencies_mix_sync_and_async.<locals>.service",
    }


def test_get_dependencies_lists_parameter_descriptor_and_type() -> None:
    dependencies = Resource(pair).get_dependencies()
    assert [(name, d.name, d.cache, t) for name, d, t in dependencies] == [
        ("first", "next_number", False, int),
        ("second", "next_number", False, int),
    ]
    assert ResourceConfig("x.json").get_dependencies() == []


def test_only_first_metadata_item_marks_a_factory_dependency() -> None:
    def first(value: Annotated[int, Resource(next_number), "doc"]) -> int:
        return value

    def later(value: Annotated[int, "doc", Resource(next_number)]) -> int:
        return value

    def nested(value: Annotated[Annotated[int, "doc"], Resource(next_number)]) -> int:
        return value

    assert [d[0] for d in Resource(first).get_dependencies()] == ["value"]
    assert Resource(later).get_dependencies() == []
    assert Resource(nested).get_dependencies() == []


async def test_resource_parameter_overrides_default_and_keyword_only() -> None:
    def build(
        value: Annotated[int, Resource(next_number)] = 99,
        *,
        again: Annotated[int, Resource(next_number)],
        plain: str = "kept",
    ) -> tuple[int, int, str]:
        return value, again, plain

    assert await ResourceManager().get(Resource(build)) == (1, 1, "kept")


async def test_dependencies_are_passed_as_keywords() -> None:
    def variadic(
        *args: Annotated[int, Resource(next_number)],
        **kwargs: Annotated[int, Resource(next_number)],
    ) -> Any:
        return args, kwargs

    assert await ResourceManager().get(Resource(variadic)) == ((), {"args": 1, "kwargs": 1})


async def test_missing_non_resource_argument_is_a_type_error() -> None:
    def needs(value: int) -> int:
        return value

    with pytest.raises(TypeError, match="missing 1 required positional argument: 'value'"):
        await ResourceManager().get(Resource(needs))


def test_unresolvable_annotation_falls_back_to_raw_annotations() -> None:
    namespace: dict[str, Any] = {"Annotated": Annotated, "Resource": Resource, "nn": next_number}
    source = (
        "def real(v: 'Missing', w: Annotated[int, Resource(nn)]): pass\n"
        "def stringly(v: 'Missing', w: 'Annotated[int, Resource(nn)]'): pass\n"
    )
    # dont_inherit: keep this file's postponed annotations away from ``real``.
    exec(compile(source, "<factories>", "exec", dont_inherit=True), namespace)
    assert [d[0] for d in Resource(namespace["real"]).get_dependencies()] == ["w"]
    assert Resource(namespace["stringly"]).get_dependencies() == []


def make_local_factories() -> tuple[Any, dict[str, Any]]:
    class LocalThing:
        pass

    def local_thing() -> LocalThing:
        return LocalThing()

    def uses_local(thing: Annotated[LocalThing, Resource(local_thing)]) -> LocalThing:
        return thing

    return uses_local, dict(locals())


async def test_localns_resolves_names_local_to_the_declaring_scope() -> None:
    uses_local, namespace = make_local_factories()
    resource = Resource(uses_local)
    assert resource.get_dependencies() == []
    resource.set_localns(namespace)
    [(name, descriptor, annotation)] = resource.get_dependencies()
    assert (name, descriptor.name, annotation) == (
        "thing",
        "make_local_factories.<locals>.local_thing",
        namespace["LocalThing"],
    )
    assert isinstance(await ResourceManager().get(resource), namespace["LocalThing"])


def test_module_globals_win_over_localns() -> None:
    def uses_global(value: Annotated[int, Resource(next_number)]) -> int:
        return value

    resource = Resource(uses_global)
    resource.set_localns({"next_number": lambda: -1, "Resource": None})
    assert [d.name for _, d, _ in resource.get_dependencies()] == ["next_number"]
    resource.set_localns(None)
    assert resource._localns is None


async def test_partial_factory_injects_only_unbound_parameters() -> None:
    def build(
        a: Annotated[int, Resource(next_number)],
        b: Annotated[int, Resource(next_number)],
        c: Annotated[int, Resource(next_number)],
    ) -> tuple[int, int, int]:
        return a, b, c

    factory = functools.partial(build, 10, c=30)
    assert [d[0] for d in Resource(factory).get_dependencies()] == ["b"]
    assert await ResourceManager().get(Resource(factory)) == (10, 1, 30)


async def test_callable_instance_parameters_are_injected() -> None:
    class Builder:
        def __call__(self, number: Annotated[int, Resource(next_number)]) -> str:
            return f"built {number}"

    assert await ResourceManager().get(Resource(Builder())) == "built 1"


async def test_factory_dependency_on_a_config_gets_its_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("app.json").write_text(json.dumps({"db": {"host": "h", "port": 1}}))

    def address(settings: Annotated[Settings, ResourceConfig("app.json", "db")]) -> str:
        return f"{settings.host}:{settings.port}"

    assert await ResourceManager().get(Resource(address)) == "h:1"


class CountingDescriptor:
    """A hand-written descriptor: the manager only relies on the protocol."""

    def __init__(self, name: str, cache: bool) -> None:
        self.name = name
        self.cache = cache
        self.resolved = 0

    async def resolve(self, manager: ResourceManager) -> int:
        self.resolved += 1
        return self.resolved

    def set_type_annotation(self, type_annotation: Any) -> None:
        pass

    def set_localns(self, localns: dict[str, Any] | None) -> None:
        pass

    def get_dependencies(self) -> list[tuple[str, ResourceDescriptor, Any]]:
        return []


async def test_manager_accepts_any_resource_descriptor() -> None:
    cached, uncached = CountingDescriptor("c", True), CountingDescriptor("u", False)
    assert isinstance(cached, ResourceDescriptor)
    manager = ResourceManager()
    assert [await manager.get(cached) for _ in range(2)] == [1, 1]
    assert [await manager.get(uncached) for _ in range(2)] == [1, 2]
    assert manager.get_all() == {"c": 1}


# --- cycles ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "chain"),
    [
        (cycle_a, "cycle_a -> cycle_b -> cycle_a"),
        (cycle_b, "cycle_b -> cycle_a -> cycle_b"),
        (cycle_self, "cycle_self -> cycle_self"),
        (ring_1, "ring_1 -> ring_2 -> ring_3 -> ring_1"),
        (enters_ring, "enters_ring -> ring_1 -> ring_2 -> ring_3 -> ring_1"),
        (uncached_cycle_a, "uncached_cycle_a -> uncached_cycle_b -> uncached_cycle_a"),
    ],
)
async def test_cycle_is_reported_with_its_path(factory: Any, chain: str) -> None:
    manager = ResourceManager()
    with pytest.raises(ValueError) as caught:
        await manager.get(Resource(factory))
    assert str(caught.value) == f"Circular resource dependency detected: {chain}"
    assert manager._scopes == {}
    assert manager._being_built == {}
    assert await manager.get(Resource(next_number)) == 1


# --- concurrency (the peer mistakes concurrent builds for cycles; reflow does not) -----------


async def test_concurrent_gets_of_a_cached_resource_build_it_once() -> None:
    release = asyncio.Event()
    builds: list[int] = []

    async def slow() -> object:
        builds.append(1)
        await release.wait()
        return object()

    manager = ResourceManager()
    tasks = [asyncio.create_task(manager.get(Resource(slow))) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    first, second, third = await asyncio.gather(*tasks)
    assert first is second is third
    assert builds == [1]


async def test_concurrent_tasks_have_separate_scopes() -> None:
    release = asyncio.Event()

    async def slow_number() -> int:
        await release.wait()
        return next_number()

    manager = ResourceManager()

    async def in_scope() -> tuple[int, int]:
        with manager.resolution_scope():
            first = await manager.get(Resource(slow_number, cache=False))
            return first, await manager.get(Resource(slow_number, cache=False))

    tasks = [asyncio.create_task(in_scope()) for _ in range(2)]
    await asyncio.sleep(0)
    release.set()
    results = sorted(await asyncio.gather(*tasks))
    assert results == [(1, 1), (2, 2)]


async def test_waiter_builds_itself_when_the_first_build_fails() -> None:
    release = asyncio.Event()
    calls: list[int] = []

    async def fails_once() -> str:
        calls.append(1)
        await release.wait()
        if len(calls) == 1:
            raise RuntimeError("first build fails")
        return "second build"

    manager = ResourceManager()
    first = asyncio.create_task(manager.get(Resource(fails_once)))
    second = asyncio.create_task(manager.get(Resource(fails_once)))
    await asyncio.sleep(0)
    release.set()
    outcomes = await asyncio.gather(first, second, return_exceptions=True)
    assert isinstance(outcomes[0], RuntimeError)
    assert outcomes[1] == "second build"
    assert manager.get_all() == {
        "test_waiter_builds_itself_when_the_first_build_fails.<locals>.fails_once": "second build"
    }


# --- ResourceConfig --------------------------------------------------------------------------

ONLY_JSON = "Only JSON files can be used to load Pydantic-based resources."

NESTED = {
    "host": "top",
    "port": 1,
    "db": {"primary": {"host": "p", "port": 2}, "count": 3, "none": None},
    "": {"host": "empty-key", "port": 4, "": {"host": "empty-empty", "port": 5}},
    "items": [{"host": "i", "port": 6}],
}


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app.json").write_text(json.dumps(NESTED))
    return tmp_path


def load(config_file: str, path_selector: str | None = None) -> Any:
    config = ResourceConfig(config_file, path_selector)
    config.set_type_annotation(Settings)
    return config.call()


@pytest.mark.parametrize("name", ["c.yaml", "c", ".json", "C.JSON", "c.json.bak", "c.jsonc"])
def test_non_json_suffix_is_rejected_at_construction(name: str) -> None:
    with pytest.raises(ValueError) as caught:
        ResourceConfig(name)
    assert str(caught.value) == ONLY_JSON


@given(
    stem=st.text(alphabet="abcxyz_-", min_size=1, max_size=8),
    suffix=st.sampled_from([".json", ".yaml", ".toml", ".JSON", ".jsn", ""]),
)
def test_only_a_json_suffix_is_accepted(stem: str, suffix: str) -> None:
    if suffix == ".json":
        assert ResourceConfig(stem + suffix).name == stem + suffix
    else:
        with pytest.raises(ValueError, match=ONLY_JSON):
            ResourceConfig(stem + suffix)


def test_config_attributes(config_dir: Path) -> None:
    config = ResourceConfig("app.json", "db.primary", label="Database", description="Primary DB")
    assert config.path_selector == "db.primary"
    assert config.label == "Database"
    assert config.description == "Primary DB"
    assert config.cls_factory is None
    assert config.cache is True
    assert config.name == "app.json.db.primary"
    assert ResourceConfig("app.json").name == "app.json"
    assert ResourceConfig("app.json", "").name == "app.json."
    assert config.config_file == str(config_dir / "app.json")


async def test_missing_file_is_reported_lazily(config_dir: Path) -> None:
    config = ResourceConfig("later.json")
    assert config.name == "later.json"
    with pytest.raises(FileNotFoundError) as caught:
        _ = config.config_file
    assert str(caught.value) == "No such file: later.json"
    config.set_type_annotation(Settings)
    with pytest.raises(FileNotFoundError, match=r"No such file: later\.json"):
        await ResourceManager().get(config)
    (config_dir / "later.json").write_text('{"host": "h", "port": 9}')
    assert await ResourceManager().get(config) == Settings(host="h", port=9)


def test_directory_is_not_a_config_file(config_dir: Path) -> None:
    (config_dir / "folder.json").mkdir()
    with pytest.raises(FileNotFoundError, match=r"No such file: folder\.json"):
        _ = ResourceConfig("folder.json").config_file


def test_resolved_path_is_kept_after_directory_change(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = ResourceConfig("app.json")
    assert config.config_file == str(config_dir / "app.json")
    monkeypatch.chdir(config_dir.parent)
    assert config.config_file == str(config_dir / "app.json")
    with pytest.raises(FileNotFoundError):
        _ = ResourceConfig("app.json").config_file


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        (None, Settings(host="top", port=1)),
        ("db.primary", Settings(host="p", port=2)),
        ("", Settings(host="empty-key", port=4)),
        (".", Settings(host="empty-empty", port=5)),
    ],
)
def test_path_selector_walks_nested_objects(
    config_dir: Path, selector: str | None, expected: Settings
) -> None:
    assert load("app.json", selector) == expected


@pytest.mark.parametrize(
    ("selector", "path", "found"),
    [
        ("db.count", "db.count", "<class 'int'>"),
        ("db.count.x", "db.count", "<class 'int'>"),
        ("db.missing", "db.missing", "<class 'NoneType'>"),
        ("db.missing.deeper", "db.missing", "<class 'NoneType'>"),
        ("db.none", "db.none", "<class 'NoneType'>"),
        ("items", "items", "<class 'list'>"),
        ("db.primary.", "db.primary", "<class 'NoneType'>"),
        ("..", "", "<class 'NoneType'>"),
    ],
)
def test_path_selector_must_end_on_an_object(
    config_dir: Path, selector: str, path: str, found: str
) -> None:
    with pytest.raises(ValueError) as caught:
        load("app.json", selector)
    assert str(caught.value) == (
        f"Expected dictionary for configuration from {config_dir / 'app.json'} "
        f"at path {path}, got: {found}"
    )


@given(
    keys=st.lists(
        st.text(alphabet=st.characters(blacklist_characters="."), max_size=5), min_size=1
    ),
    leaf=st.dictionaries(st.text(max_size=3), st.integers(), max_size=3),
)
def test_selector_returns_the_object_at_its_dotted_path(
    keys: list[str], leaf: dict[str, int]
) -> None:
    data: dict[str, Any] = leaf
    for key in reversed(keys):
        data = {key: data, "sibling": {"noise": 1}}
    assert select_path(data, ".".join(keys), "f.json") is leaf


def test_selector_on_a_non_object_root_is_a_value_error(config_dir: Path) -> None:
    (config_dir / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match=r"at path , got: <class 'list'>"):
        load("list.json", "a")
    with pytest.raises(ValidationError):
        load("list.json")


def test_invalid_json_raises_decode_error(config_dir: Path) -> None:
    (config_dir / "bad.json").write_text("{not json")
    with pytest.raises(json.JSONDecodeError):
        load("bad.json")


def test_model_validation_errors_propagate(config_dir: Path) -> None:
    with pytest.raises(ValidationError):
        load("app.json", "db")


def test_call_needs_a_model_class(config_dir: Path) -> None:
    with pytest.raises(ValueError) as caught:
        ResourceConfig("app.json").call()
    assert str(caught.value) == "Class factory should be set to a BaseModel subclass before calling"
    config = ResourceConfig("app.json")
    config.set_type_annotation(dict)
    with pytest.raises(ValueError, match=r"ResourceConfig\('app.json'\) must annotate a pydantic"):
        config.call()


def test_call_builds_a_new_model_each_time(config_dir: Path) -> None:
    config = ResourceConfig("app.json")
    config.set_type_annotation(Settings)
    assert config.call() is not config.call()
    assert config.cls_factory is Settings


async def test_config_value_is_cached_by_name_in_the_manager(config_dir: Path) -> None:
    class OtherModel(BaseModel):
        host: str

    manager = ResourceManager()
    first = ResourceConfig("app.json")
    first.set_type_annotation(Settings)
    value = await manager.get(first)
    assert await manager.get(first) is value
    assert manager.get_all() == {"app.json": value}
    # Same name, different model: the cached value wins (cache key is the name).
    second = ResourceConfig("app.json")
    second.set_type_annotation(OtherModel)
    assert await manager.get(second) is value
    assert await second.resolve(manager) == OtherModel(host="top")


def test_file_reads_are_cached_per_file_and_selector(config_dir: Path) -> None:
    assert load("app.json") == Settings(host="top", port=1)
    (config_dir / "app.json").write_text(
        json.dumps({"host": "edited", "port": 7, "db": {"primary": {"host": "q", "port": 8}}})
    )
    assert load("app.json") == Settings(host="top", port=1)
    assert load("app.json", "db.primary") == Settings(host="q", port=8)
    load_config_data.cache_clear()
    assert load("app.json") == Settings(host="edited", port=7)


def test_file_read_cache_keeps_the_last_128_reads(config_dir: Path) -> None:
    assert load("app.json") == Settings(host="top", port=1)
    (config_dir / "app.json").write_text('{"host": "edited", "port": 7}')
    for index in range(127):
        (config_dir / f"f{index}.json").write_text('{"host": "x", "port": 0}')
        load(f"f{index}.json")
    assert load("app.json") == Settings(host="top", port=1)
    for index in range(128):
        (config_dir / f"g{index}.json").write_text('{"host": "x", "port": 0}')
        load(f"g{index}.json")
    assert load("app.json") == Settings(host="edited", port=7)


# --- definitions and step helpers ------------------------------------------------------------


def test_resource_definition_fields() -> None:
    resource = Resource(next_number)
    definition = ResourceDefinition(name="number", resource=resource, type_annotation=int)
    assert (definition.name, definition.resource, definition.type_annotation) == (
        "number",
        resource,
        int,
    )
    assert ResourceDefinition(name="n", resource=resource).type_annotation is None
    assert list(ResourceDefinition.model_fields) == ["name", "resource", "type_annotation"]
    assert repr(definition).startswith("ResourceDefinition(name='number', resource=<reflow.")


def test_resource_definition_rejects_non_descriptor() -> None:
    with pytest.raises(ValidationError, match="Input should be an instance of ResourceDescriptor"):
        ResourceDefinition(name="n", resource=5)


def test_get_resource_descriptor_finds_the_first_descriptor() -> None:
    first, second = Resource(next_number), Resource(pair)
    assert get_resource_descriptor(Annotated[int, first]) is first
    assert get_resource_descriptor(Annotated[int, "doc", first, second]) is first
    config = ResourceConfig("x.json")
    assert get_resource_descriptor(Annotated[Settings, config]) is config
    assert get_resource_descriptor(Annotated[int, "doc"]) is None
    assert get_resource_descriptor(int) is None
    assert get_resource_descriptor(Annotated[int, first] | None) is None


def test_resource_definitions_from_hints() -> None:
    number = Resource(next_number)
    config = ResourceConfig("x.json")
    namespace = {"Local": int}
    hints = {
        "plain": int,
        "number": Annotated[int, number],
        "settings": Annotated[Settings, "doc", config],
        "return": Annotated[int, Resource(pair)],
    }
    definitions = resource_definitions_from_hints(hints, localns=namespace)
    assert [(d.name, d.resource, d.type_annotation) for d in definitions] == [
        ("number", number, int),
        ("settings", config, Settings),
    ]
    assert number._localns is namespace
    assert resource_definitions_from_hints({"plain": int}) == []


async def test_resolve_step_resources_uses_one_scope(config_dir: Path) -> None:
    definitions = resource_definitions_from_hints(
        {
            "first": Annotated[int, Resource(next_number, cache=False)],
            "second": Annotated[tuple[int, int], Resource(pair, cache=False)],
            "settings": Annotated[Settings, ResourceConfig("app.json", "db.primary")],
            "cached": Annotated[int, Resource(next_number_async)],
        }
    )
    manager = ResourceManager()
    values = await resolve_step_resources(manager, definitions)
    assert values == {
        "first": 1,
        "second": (1, 1),
        "settings": Settings(host="p", port=2),
        "cached": 2,
    }
    again = await resolve_step_resources(manager, definitions)
    assert again == {**values, "first": 3, "second": (3, 3)}
    assert set(manager.get_all()) == {"app.json.db.primary", "next_number_async"}
