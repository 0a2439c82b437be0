"""Checking a workflow's resources during ``Workflow.validate()``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from reflow._resources.hints import callable_name
from reflow.errors import WorkflowValidationError
from reflow.resource import ResourceDescriptor, ResourceManager, _Resource, _ResourceConfig

if TYPE_CHECKING:
    from reflow._steps.config import StepConfig


def check_resources(
    configs: Mapping[str, StepConfig], manager: ResourceManager, resolve_factories: bool
) -> None:
    """Load every ``ResourceConfig``, also those a factory takes (at any depth); with
    ``resolve_factories`` also build every resource.

    Every failure is reported at once, naming the step and parameter (and, for a config a
    factory takes, the chain ``factory -> file``).  Resolving factories runs its own event
    loop, so it cannot be asked for inside one.
    """
    problems: list[str] = []
    for step_name, config in configs.items():
        for definition in config.resources:
            where = f"In step '{step_name}', parameter '{definition.name}'"
            for chain, error in _config_failures(
                definition.resource, definition.type_annotation, [], set()
            ):
                via = f" ({' -> '.join(chain)})" if len(chain) > 1 else ""
                problems.append(f"{where}{via}: {error}")
    if problems:
        raise WorkflowValidationError(
            "Resource config validation failed:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    if resolve_factories:
        failures = asyncio.run(_resolve_all(configs, manager))
        if failures:
            raise WorkflowValidationError(
                "Resource validation failed:\n" + "\n".join(f"  - {p}" for p in failures)
            )


def _config_failures(
    descriptor: ResourceDescriptor, annotation: Any, chain: list[str], open_ids: set[int]
) -> list[tuple[list[str], Exception]]:
    """``(factory chain ending in the file, error)`` for every config that fails to load."""
    if isinstance(descriptor, _ResourceConfig):
        try:
            descriptor.set_type_annotation(annotation)
            descriptor.call()
        except Exception as error:
            return [([*chain, descriptor._original_config_file], error)]
        return []
    if not isinstance(descriptor, _Resource) or id(descriptor) in open_ids:
        return []  # a cycle is reported when the resources are resolved
    open_ids.add(id(descriptor))
    name = callable_name(descriptor.factory)
    failures: list[tuple[list[str], Exception]] = []
    try:
        dependencies = descriptor.get_dependencies()
    except Exception:
        dependencies = []  # unreadable annotations surface when the factory runs
    for _, dependency, dependency_annotation in dependencies:
        failures += _config_failures(dependency, dependency_annotation, [*chain, name], open_ids)
    open_ids.discard(id(descriptor))
    return failures


async def _resolve_all(configs: Mapping[str, StepConfig], manager: ResourceManager) -> list[str]:
    failures: list[str] = []
    for step_name, config in configs.items():
        for definition in config.resources:
            definition.resource.set_type_annotation(definition.type_annotation)
            try:
                with manager.resolution_scope():
                    await manager.get(definition.resource)
            except Exception as error:
                failures.append(f"In step '{step_name}', parameter '{definition.name}': {error}")
    return failures
