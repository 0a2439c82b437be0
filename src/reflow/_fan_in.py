"""Which ``list[R]`` collector steps each list-returning producer feeds.

A collector is bound to a producer when some event type ``R`` it collects is reachable from
the producer's list item types along the step graph without passing through another
list-returning step: a nested producer opens its own streams, and collectors join the
innermost one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reflow.decorators import StepConfig


def _item_types(config: StepConfig) -> list[Any]:
    return [t for t in config.return_types if isinstance(t, type)]


def bind_collectors(configs: Mapping[str, StepConfig]) -> dict[str, tuple[str, ...]]:
    collectors = {
        name: tuple(config.collection_param[1])
        for name, config in configs.items()
        if config.collection_param
    }
    bindings: dict[str, tuple[str, ...]] = {}
    for producer, config in configs.items():
        if not config.is_fan_out or not collectors:
            continue
        bound: list[str] = []
        seen: set[Any] = set()
        frontier = _item_types(config)
        while frontier:
            event_type = frontier.pop()
            if event_type in seen:
                continue
            seen.add(event_type)
            for name, wanted in collectors.items():
                if event_type in wanted and name not in bound:
                    bound.append(name)
            for name, other in configs.items():
                if name in collectors or event_type not in other.accepted_events:
                    continue
                if other.is_fan_out:
                    continue  # a nested producer opens streams of its own
                frontier.extend(_item_types(other))
        if bound:
            bindings[producer] = tuple(bound)
    return bindings
