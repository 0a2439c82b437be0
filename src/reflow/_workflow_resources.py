"""Checking a workflow's resources during ``Workflow.validate()``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reflow.errors import WorkflowValidationError
from reflow.resource import ResourceManager, _ResourceConfig, resolve_step_resources

if TYPE_CHECKING:
    from reflow.decorators import StepConfig


def check_resources(
    configs: Mapping[str, StepConfig], manager: ResourceManager, resolve_factories: bool
) -> None:
    """Load every ``ResourceConfig``; with ``resolve_factories`` also build every resource.

    Every failure is reported at once, naming the step and parameter.  Resolving factories
    runs its own event loop, so it cannot be asked for inside one.
    """
    problems: list[str] = []
    for step_name, config in configs.items():
        for definition in config.resources:
            resource = definition.resource
            if not isinstance(resource, _ResourceConfig):
                continue
            try:
                resource.set_type_annotation(definition.type_annotation)
                resource.call()
            except Exception as exc:
                problems.append(f"In step '{step_name}', parameter '{definition.name}': {exc}")
    if problems:
        raise WorkflowValidationError(
            "Resource config validation failed:\n" + "\n".join(f"  - {p}" for p in problems)
        )
    if resolve_factories:
        for config in configs.values():
            if config.resources:
                asyncio.run(resolve_step_resources(manager, list(config.resources)))
