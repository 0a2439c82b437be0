"""Resource injection: factories, caching, dependencies, JSON resource configs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pytest
from pydantic import BaseModel

from reflow import Workflow, step
from reflow.errors import WorkflowValidationError
from reflow.events import Event, StartEvent, StopEvent
from reflow.resource import Resource, ResourceConfig, ResourceManager

_built: dict[str, int] = {}


class Client:
    def __init__(self, serial: int) -> None:
        self.serial = serial


def _next(kind: str) -> int:
    _built[kind] = _built.get(kind, 0) + 1
    return _built[kind]


def make_client() -> Client:
    return Client(_next("client"))


async def make_async_client() -> Client:
    return Client(100 + _next("async"))


def make_wrapper(client: Annotated[Client, Resource(make_client)]) -> dict[str, int]:
    _next("wrapper")
    return {"wraps": client.serial}


def make_fresh() -> Client:
    return Client(_next("fresh"))


def make_fresh_user(item: Annotated[Client, Resource(make_fresh, cache=False)]) -> int:
    return item.serial


class Hop(Event):
    seen: tuple[int, dict[str, int], int]


class Uses(Workflow):
    @step
    async def first(
        self,
        ev: StartEvent,
        client: Annotated[Client, Resource(make_client)],
        wrapper: Annotated[dict[str, int], Resource(make_wrapper)],
        other: Annotated[Client, Resource(make_async_client)],
    ) -> Hop:
        return Hop(seen=(client.serial, wrapper, other.serial))

    @step
    async def second(
        self,
        ev: Hop,
        client: Annotated[Client, Resource(make_client)],
        fresh: Annotated[Client, Resource(make_fresh, cache=False)],
    ) -> StopEvent:
        return StopEvent(result=(ev.seen, client.serial, fresh.serial))


@pytest.fixture(autouse=True)
def _reset_counts() -> None:
    _built.clear()


async def test_sync_async_and_dependent_factories_are_injected() -> None:
    (first, client, _fresh) = await Uses(timeout=2).run()
    assert first == (1, {"wraps": 1}, 101)
    assert client == 1


async def test_cached_resources_live_as_long_as_the_workflow_instance() -> None:
    workflow = Uses(timeout=2)
    first = await workflow.run()
    second = await workflow.run()
    assert first[1] == second[1] == 1
    assert _built["client"] == 1
    assert _built["wrapper"] == 1
    third = await Uses(timeout=2).run()
    assert third[1] == 2


async def test_uncached_resources_are_rebuilt_per_step_invocation() -> None:
    workflow = Uses(timeout=2)
    results = [(await workflow.run())[2] for _ in range(3)]
    assert results == [1, 2, 3]


class SameScope(Workflow):
    @step
    async def only(
        self,
        ev: StartEvent,
        a: Annotated[Client, Resource(make_fresh, cache=False)],
        b: Annotated[Client, Resource(make_fresh, cache=False)],
        via: Annotated[int, Resource(make_fresh_user)],
    ) -> StopEvent:
        return StopEvent(result=(a is b, a.serial, via))


async def test_uncached_resource_is_shared_within_one_step_resolution() -> None:
    assert await SameScope(timeout=2).run() == (True, 1, 1)


async def test_a_shared_resource_manager_shares_the_cache() -> None:
    manager = ResourceManager()
    await Uses(timeout=2, resource_manager=manager).run()
    second = await Uses(timeout=2, resource_manager=manager).run()
    assert second[1] == 1
    assert sorted(manager.get_all()) == ["make_async_client", "make_client", "make_wrapper"]


# Annotations are strings here (postponed evaluation), so the two factories can name each other.
def loop_one(dep: Annotated[Client, Resource(loop_two)]) -> Client:
    return dep


def loop_two(dep: Annotated[Client, Resource(loop_one)]) -> Client:
    return dep


class Circular(Workflow):
    @step
    async def only(self, ev: StartEvent, dep: Annotated[Client, Resource(loop_one)]) -> StopEvent:
        return StopEvent(result=dep)


async def test_circular_resource_dependencies_fail_the_step() -> None:
    with pytest.raises(ValueError) as info:
        await Circular(timeout=2).run()
    assert (
        str(info.value) == "Circular resource dependency detected: loop_one -> loop_two -> loop_one"
    )


class Cfg(BaseModel):
    name: str
    size: int = 1


def _write(path: Path, payload: object) -> str:
    path.write_text(json.dumps(payload))
    return str(path)


async def test_resource_config_loads_json_with_a_path_selector(tmp_path: Path) -> None:
    config_file = _write(tmp_path / "cfg.json", {"svc": {"db": {"name": "n1", "size": 3}}})

    class Configured(Workflow):
        @step
        async def only(
            self,
            ev: StartEvent,
            cfg: Annotated[Cfg, ResourceConfig(config_file=config_file, path_selector="svc.db")],
        ) -> StopEvent:
            return StopEvent(result=cfg)

    result = await Configured(timeout=2).run()
    assert type(result) is Cfg
    assert result.model_dump() == {"name": "n1", "size": 3}


def test_resource_config_requires_a_json_file(tmp_path: Path) -> None:
    config_file = tmp_path / "cfg.yaml"
    config_file.write_text("name: x")
    with pytest.raises(ValueError) as info:
        ResourceConfig(config_file=str(config_file))
    assert str(info.value) == "Only JSON files can be used to load Pydantic-based resources."


async def test_missing_resource_config_file_fails_validation(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")

    class Missing(Workflow):
        @step
        async def only(
            self, ev: StartEvent, cfg: Annotated[Cfg, ResourceConfig(config_file=missing)]
        ) -> StopEvent:
            return StopEvent(result=cfg)

    workflow = Missing(timeout=2)
    with pytest.raises(WorkflowValidationError) as info:
        workflow.run()
    assert str(info.value) == (
        "Resource config validation failed:\n"
        f"  - In step 'only', parameter 'cfg': No such file: {missing}"
    )


class ConfiguredClient:
    def __init__(self, cfg: Cfg) -> None:
        self.cfg = cfg


async def test_an_invalid_nested_resource_config_fails_validation(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.json")
    invalid = _write(tmp_path / "bad.json", {"name": "n", "size": "many"})

    def make_missing(cfg: Annotated[Cfg, ResourceConfig(config_file=missing)]) -> ConfiguredClient:
        return ConfiguredClient(cfg)

    def make_invalid(cfg: Annotated[Cfg, ResourceConfig(config_file=invalid)]) -> ConfiguredClient:
        return ConfiguredClient(cfg)

    class Nested(Workflow):
        @step
        async def only(
            self,
            ev: StartEvent,
            gone: Annotated[ConfiguredClient, Resource(make_missing)],
            bad: Annotated[ConfiguredClient, Resource(make_invalid)],
        ) -> StopEvent:
            return StopEvent(result=1)

    with pytest.raises(WorkflowValidationError) as info:
        Nested(timeout=2).run()
    lines = str(info.value).splitlines()
    assert lines[0] == "Resource config validation failed:"
    prefix = "test_an_invalid_nested_resource_config_fails_validation.<locals>"
    problems = sorted(line for line in lines[1:] if line.startswith("  - "))
    assert problems[0].startswith(
        f"  - In step 'only', parameter 'bad' ({prefix}.make_invalid -> {invalid}): "
        "1 validation error for Cfg"
    )
    assert problems[1] == (
        f"  - In step 'only', parameter 'gone' ({prefix}.make_missing -> {missing}): "
        f"No such file: {missing}"
    )


def _fails() -> int:
    raise RuntimeError("Factory failed")


class FactoryFails(Workflow):
    @step
    async def start_step(
        self, ev: StartEvent, value: Annotated[int, Resource(_fails)]
    ) -> StopEvent:
        return StopEvent(result=value)


def test_validating_resources_names_the_step_and_parameter_of_a_failing_factory() -> None:
    with pytest.raises(WorkflowValidationError) as info:
        FactoryFails(timeout=2).validate(validate_resources=True)
    assert str(info.value) == (
        "Resource validation failed:\n  - In step 'start_step', parameter 'value': Factory failed"
    )
