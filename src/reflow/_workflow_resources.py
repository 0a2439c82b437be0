"""Checking a workflow's resources during ``Workflow.validate()``."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING

from reflow.resource import ResourceManager, resolve_step_resources

if TYPE_CHECKING:
    from reflow.decorators import StepConfig


def check_resources(
    configs: Mapping[str, StepConfig], manager: ResourceManager, resolve_factories: bool
) -> None:
    """Load every ``ResourceConfig``; with ``resolve_factories`` also build every resource.

    Resolving factories runs its own event loop, so it cannot be asked for inside one.
    """
    for config in configs.values():
        for definition in config.resources:
            resource = definition.resource
            if hasattr(resource, "config_file"):
                resource.call()  # type: ignore[union-attr]
    if resolve_factories:
        for config in configs.values():
            if config.resources:
                asyncio.run(resolve_step_resources(manager, list(config.resources)))
