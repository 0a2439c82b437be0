"""What the engine is told about a workflow's steps: each ``StepConfig`` as a ``StepSpec``.

``Workflow`` compiles its steps once and hands the result to every run's ``RunConfig``: the
specs, and which ``@catch_error`` step handles each step's failures.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from reflow.engine import StepSpec

if TYPE_CHECKING:
    from reflow._steps.config import StepConfig
    from reflow.events import StartEvent


def _bound_collectors(
    configs: Mapping[str, StepConfig], start_event: type[StartEvent]
) -> dict[str, tuple[str, ...]]:
    """List-returning step -> the ``list[E]`` steps its streams feed.

    The same stream-level model that validation checks ``list[E]`` parameters with
    (``stream_levels``), read the other way round.
    """
    from reflow._steps.stream_levels import collect_bindings, compute_levels

    feeds: dict[str, list[str]] = {}
    levels = compute_levels(configs, start_event)
    for collector, producers in collect_bindings(configs, levels).items():
        for producer in producers:
            feeds.setdefault(producer, []).append(collector)
    return {producer: tuple(collectors) for producer, collectors in feeds.items()}


def compile_specs(
    configs: Mapping[str, StepConfig], start_event: type[StartEvent]
) -> tuple[dict[str, StepSpec], dict[str, str]]:
    """The spec of every step, by name, and step name -> the ``@catch_error`` step for it.

    A handler that names its steps takes those; a handler that names none takes every step
    that no handler names, handlers excepted.
    """
    specs: dict[str, StepSpec] = {}
    handlers: dict[str, str] = {}
    wildcard: str | None = None
    bindings = _bound_collectors(configs, start_event)
    for name, config in configs.items():
        is_handler = config.role == "catch_error"
        collects = tuple(config.collection_param[1]) if config.collection_param else ()
        policy = config.collection_policy
        take = getattr(getattr(policy, "cardinality", None), "n", None)
        specs[name] = StepSpec(
            name=name,
            # A list[E] collector only receives the releases of its streams.
            accepted=() if collects else tuple(config.accepted_events),
            bound_collectors=bindings.get(name, ()),
            collects=collects,
            take=take,
            slots=tuple(kind for _, kind in config.collect_params or ()),
            num_workers=1 if is_handler else config.num_workers,
            accept_subclasses=config.accept_event_subclasses,
            retry_policy=None if is_handler else config.retry_policy,
            timeout=config.timeout,
            is_catch_error=is_handler,
            max_recoveries=config.catch_error_max_recoveries,
        )
        if is_handler:
            if config.catch_error_for_steps is None:
                wildcard = name
            else:
                for target in config.catch_error_for_steps:
                    handlers[target] = name
    if wildcard is not None:
        for name, spec in specs.items():
            if not spec.is_catch_error:
                handlers.setdefault(name, wildcard)
    return specs, handlers
