"""Static stream levels: at which fan-out nesting each event type can be produced.

A step annotated ``-> list[E]`` is a fan-out step: a list it returns opens a *stream*.  Every
output type of a fan-out step lives at that step's level (named by the step); other steps emit
at the level of their input; a ``list[E]`` fan-in step emits at the level enclosing the stream
it collects; the start event and human responses live at the top level (``TOP``).

Validation uses the levels for two checks, in this order (llama-index-workflows 2.26 rules):
a ``list[E]`` parameter needs some stream that carries ``E``, and the event parameters of a
multi-slot join need a level in common.  The engine can use :func:`collect_bindings` to learn
which fan-out streams feed which ``list[E]`` step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from reflow.errors import WorkflowValidationError
from reflow.events import HumanResponseEvent

if TYPE_CHECKING:
    from reflow._steps.config import StepConfig

Level = str | None
"""``None`` is the top level; a string names the fan-out step whose stream it is."""

TOP: Level = None
_NONE = type(None)


def matches(produced: Any, accepted: Any, subclasses: bool) -> bool:
    """Whether an event of type ``produced`` is routed to a parameter typed ``accepted``."""
    if produced is accepted:
        return True
    return (
        subclasses
        and isinstance(produced, type)
        and isinstance(accepted, type)
        and issubclass(produced, accepted)
    )


def type_name(candidate: Any) -> str:
    """Short display name of a type or annotation (``A``, ``tuple``, ``Any``)."""
    name = getattr(candidate, "__name__", None) or getattr(candidate, "_name", None)
    return name if isinstance(name, str) else repr(candidate)


@dataclass
class StreamLevels:
    """Result of :func:`compute_levels`."""

    event_levels: dict[Any, set[Level]] = field(default_factory=dict)
    """Exact event type -> levels it is produced (or seeded) at."""
    parents: dict[str, set[Level]] = field(default_factory=dict)
    """Fan-out step -> levels at which it runs (where its streams are opened)."""

    def levels_of(self, accepted: Iterable[Any], subclasses: bool) -> set[Level]:
        found: set[Level] = set()
        wanted = list(accepted)
        for produced, levels in self.event_levels.items():
            if any(matches(produced, a, subclasses) for a in wanted):
                found |= levels
        return found


def compute_levels(configs: Mapping[str, StepConfig], start_event: type) -> StreamLevels:
    """Propagate levels from the start event (and human responses) to a fixed point."""
    result = StreamLevels()
    result.event_levels[start_event] = {TOP}
    for config in configs.values():
        for accepted in config.accepted_events:
            if isinstance(accepted, type) and issubclass(accepted, HumanResponseEvent):
                result.event_levels.setdefault(accepted, set()).add(TOP)
    changed = True
    while changed:
        changed = False
        for name, config in configs.items():
            inputs = result.levels_of(config.accepted_events, config.accept_event_subclasses)
            if config.collection_param is not None:
                running: set[Level] = set()
                for level in inputs:
                    if level is not None:
                        running |= result.parents.get(level, set())
            else:
                running = inputs
            if not running:
                continue
            outputs = running
            if config.is_fan_out:
                parents = result.parents.setdefault(name, set())
                if not running <= parents:
                    parents |= running
                    changed = True
                outputs = {name}
            for produced in config.return_types:
                if produced is _NONE:
                    continue
                levels = result.event_levels.setdefault(produced, set())
                if not outputs <= levels:
                    levels |= outputs
                    changed = True
    return result


def _describe(levels: set[Level]) -> str:
    if not levels:
        return "no level"
    streams = sorted(level for level in levels if level is not None)
    parts = [f"the stream of step '{step}'" for step in streams]
    if TOP in levels:
        parts.append("the top level")
    return ", ".join(parts)


def check_stream_parameters(configs: Mapping[str, StepConfig], levels: StreamLevels) -> None:
    """``list[E]`` parameters need a stream carrying ``E``; join slots need a common level."""
    problems: list[str] = []
    for name, config in configs.items():
        if config.collection_param is None:
            continue
        parameter, elements = config.collection_param
        missing = [
            element
            for element in elements
            if not any(
                level is not TOP
                for level in levels.levels_of([element], config.accept_event_subclasses)
            )
        ]
        if missing:
            problems.append(
                f"Step '{name}' parameter '{parameter}' collects "
                f"list[{', '.join(type_name(m) for m in missing)}], but no returned-list "
                "producer creates a stream for those event types. list[E] fan-in only consumes "
                "events from steps annotated as returning list[E]; use ctx.collect_events for "
                "unstreamed ctx.send_event flows."
            )
    if problems:
        raise WorkflowValidationError("\n".join(problems))
    for name, config in configs.items():
        if not config.collect_params:
            continue
        # Slots look up their exact type only, even with accept_event_subclasses (as the peer).
        slots = [
            (parameter, event, levels.event_levels.get(event, set()))
            for parameter, event in config.collect_params
        ]
        common = set.intersection(*(slot_levels for _, _, slot_levels in slots))
        if common:
            continue
        described = "; ".join(
            f"'{parameter}' ({type_name(event)}) is produced at {_describe(slot_levels)}"
            for parameter, event, slot_levels in slots
        )
        problems.append(
            f"Step '{name}' joins event parameters that are never produced at a common stream "
            f"level: {described}. A multi-slot join only fires when all of its inputs originate "
            "at the same level. To gate in-stream work on input from another level, use "
            "ctx.wait_for_event inside the producing step instead."
        )
    if problems:
        raise WorkflowValidationError("\n".join(problems))


def collect_bindings(
    configs: Mapping[str, StepConfig], levels: StreamLevels
) -> dict[str, list[str]]:
    """``list[E]`` step -> fan-out steps whose streams can carry one of its element types."""
    bindings: dict[str, list[str]] = {}
    for name, config in configs.items():
        if config.collection_param is None:
            continue
        found = levels.levels_of(config.collection_param[1], config.accept_event_subclasses)
        bindings[name] = sorted(level for level in found if level is not None)
    return bindings
