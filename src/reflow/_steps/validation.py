"""Workflow-level checks over the steps' ``StepConfig`` objects (no Workflow needed).

``validate_workflow`` runs the checks in llama-index-workflows 2.26's order and with its
messages: steps exist, one start and one stop event, ``list[E]`` and join stream levels,
connectivity, ``@catch_error`` rules, then the graph checks (reachability, terminal_event,
dead_end), which are gathered into a single error.  Where the peer lists types in set order,
reflow sorts them by name so messages are stable.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from reflow._steps.notes import with_note
from reflow._steps.stream_levels import check_stream_parameters, compute_levels, matches, type_name
from reflow.errors import WorkflowConfigurationError, WorkflowValidationError
from reflow.events import (
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StopEvent,
)

if TYPE_CHECKING:
    from reflow._steps.config import StepConfig

WORKFLOW_GRAPH_CHECKS: frozenset[str] = frozenset({"reachability", "terminal_event", "dead_end"})
_NONE = type(None)


def _is_subclass(candidate: Any, *bases: type) -> bool:
    return isinstance(candidate, type) and issubclass(candidate, bases)


def _unique(items: Iterable[Any]) -> list[Any]:
    return list(dict.fromkeys(items))


def _names(types_: Iterable[Any]) -> str:
    return ", ".join(sorted({type_name(t) for t in types_}))


def infer_start_stop(
    configs: Mapping[str, StepConfig], *, workflow_name: str = "Workflow"
) -> tuple[type[StartEvent], type[StopEvent]]:
    """The single StartEvent type some step accepts and StopEvent type some step returns.

    ``workflow_name`` is the class name shown in the messages.
    """
    starts = _unique(
        t for c in configs.values() for t in c.accepted_events if _is_subclass(t, StartEvent)
    )
    if not starts:
        raise WorkflowConfigurationError(
            "At least one Event of type StartEvent must be received by any step. "
            f"(Workflow '{workflow_name}' has no @step that accepts StartEvent.)"
        )
    if len(starts) > 1:
        raise WorkflowConfigurationError(
            f"Only one type of StartEvent is allowed per workflow, found {len(starts)}: "
            f"{{{', '.join(map(repr, starts))}}} in workflow '{workflow_name}'."
        )
    stops = _unique(
        t for c in configs.values() for t in c.return_types if _is_subclass(t, StopEvent)
    )
    if not stops:
        not_events = [
            f"step '{name}' is annotated -> {type_name(t)}, which is not an Event"
            for name, c in configs.items()
            for t in c.return_types
            if t is not _NONE and not _is_subclass(t, Event)
        ]
        error = WorkflowConfigurationError(
            "At least one Event of type StopEvent must be returned by any step. "
            f"(Workflow '{workflow_name}' has no @step that returns StopEvent.)"
        )
        raise with_note(error, "; ".join(not_events)) if not_events else error
    if len(stops) > 1:
        raise WorkflowConfigurationError(
            f"Only one type of StopEvent is allowed per workflow, found {len(stops)}: "
            f"{{{', '.join(map(repr, stops))}}} in workflow '{workflow_name}'."
        )
    return starts[0], stops[0]


def infer_state_type(configs: Mapping[str, StepConfig]) -> type[BaseModel] | None:
    """The most derived ``Context[State]`` model among the steps, ``None`` if none is typed.

    Non-model parameters (``Context[dict]``) are ignored.  Raises ``ValueError`` when the models
    do not form one inheritance chain.
    """
    models: list[type[BaseModel]] = _unique(
        c.context_state_type
        for c in configs.values()
        if _is_subclass(c.context_state_type, BaseModel)
    )
    for candidate in models:
        if all(issubclass(candidate, other) for other in models):
            return candidate
    if not models:
        return None
    raise ValueError(
        "Multiple state types are not in a compatible inheritance hierarchy. All state types "
        f"must share a common inheritance chain. Found: {', '.join(m.__name__ for m in models)}"
    )


def validate_skip_graph_checks(names: Iterable[str] | str | None) -> None:
    """Reject names that are not ``reachability``, ``terminal_event`` or ``dead_end``."""
    listed = [names] if isinstance(names, str) else list(names or ())
    unknown = sorted({str(n) for n in listed} - WORKFLOW_GRAPH_CHECKS)
    if unknown:
        raise WorkflowValidationError(
            f"Unknown graph check names: {', '.join(unknown)}. "
            f"Valid names are: {', '.join(sorted(WORKFLOW_GRAPH_CHECKS))}"
        )


def _produced(configs: Mapping[str, StepConfig]) -> list[Any]:
    return _unique(t for c in configs.values() for t in c.return_types if t is not _NONE)


def _is_consumed(produced: Any, configs: Mapping[str, StepConfig]) -> bool:
    return any(
        matches(produced, accepted, c.accept_event_subclasses)
        for c in configs.values()
        for accepted in c.accepted_events
    )


def _check_connectivity(configs: Mapping[str, StepConfig], start_event: type) -> bool:
    """Steps may not take StopEvents; consumed and produced types must match up.

    Returns whether the workflow uses human-in-the-loop events.
    """
    for name, config in configs.items():
        if any(_is_subclass(t, StopEvent) for t in config.accepted_events):
            raise WorkflowValidationError(
                f"Step '{name}' cannot accept StopEvent. StopEvent signals the end of the "
                "workflow. Use a different Event type instead."
            )
    produced = _produced(configs)
    available = [start_event, *produced]
    exempt_consumed = (InputRequiredEvent, HumanResponseEvent, StopEvent, StepFailedEvent)
    never_produced = [
        accepted
        for config in configs.values()
        for accepted in config.accepted_events
        if accepted is not start_event
        and not _is_subclass(accepted, *exempt_consumed)
        and not any(matches(p, accepted, config.accept_event_subclasses) for p in available)
    ]
    if never_produced:
        raise WorkflowValidationError(
            f"The following events are consumed but never produced: {_names(never_produced)}"
        )
    never_consumed = [
        p
        for p in produced
        if not _is_subclass(p, InputRequiredEvent, HumanResponseEvent, StopEvent)
        and not _is_consumed(p, configs)
    ]
    if never_consumed:
        raise WorkflowValidationError(
            f"The following events are produced but never consumed: {_names(never_consumed)}"
        )
    return any(_is_subclass(p, InputRequiredEvent) for p in produced) or any(
        _is_subclass(t, HumanResponseEvent) for c in configs.values() for t in c.accepted_events
    )


def _check_catch_error(configs: Mapping[str, StepConfig]) -> None:
    handlers = [(n, c) for n, c in configs.items() if c.role == "catch_error"]
    for name, config in handlers:
        budget = config.catch_error_max_recoveries
        if not isinstance(budget, int) or budget < 1:
            raise WorkflowValidationError(
                f"@catch_error handler '{name}' has max_recoveries={budget!r}; "
                "must be an integer >= 1."
            )
    problems: list[str] = []
    wildcards = sorted(n for n, c in handlers if c.catch_error_for_steps is None)
    if len(wildcards) > 1:
        problems.append(
            "Only one wildcard @catch_error handler is allowed per workflow, found "
            f"{len(wildcards)}: {', '.join(wildcards)}"
        )
    claimed: dict[str, str] = {}
    for name, config in handlers:
        for target in config.catch_error_for_steps or ():
            if target not in configs:
                problems.append(
                    f"@catch_error handler '{name}' lists unknown step '{target}' in for_steps."
                )
            elif configs[target].role == "catch_error":
                problems.append(
                    f"@catch_error handler '{name}' cannot cover another handler step '{target}'."
                )
            elif target in claimed:
                problems.append(
                    f"Step '{target}' is claimed by two @catch_error handlers: "
                    f"'{claimed[target]}' and '{name}'."
                )
            else:
                claimed[target] = name
    if problems:
        raise WorkflowValidationError("\n".join(problems))


def _unreachable(configs: Mapping[str, StepConfig], start_event: type) -> list[str]:
    """Steps no event from the start, a human response or a handler can reach."""
    reached = {n for n, c in configs.items() if c.role == "catch_error"}
    events: list[Any] = [start_event]
    events += [t for c in configs.values() for t in c.accepted_events]
    events = [t for t in events if t is start_event or _is_subclass(t, HumanResponseEvent)]
    for name in reached:
        events.extend(configs[name].return_types)
    grew = True
    while grew:
        grew = False
        for name, config in configs.items():
            if name in reached:
                continue
            if any(
                matches(e, a, config.accept_event_subclasses)
                for e in events
                for a in config.accepted_events
            ):
                reached.add(name)
                events.extend(config.return_types)
                grew = True
    return sorted(
        n
        for n, c in configs.items()
        if n not in reached and "reachability" not in c.skip_graph_checks
    )


def _dead_ends(configs: Mapping[str, StepConfig]) -> list[str]:
    """Producing steps with no path to a StopEvent or InputRequiredEvent."""
    outputs = {n: [t for t in c.return_types if t is not _NONE] for n, c in configs.items()}
    live: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, produced in outputs.items():
            if name in live:
                continue
            if any(_is_subclass(t, StopEvent, InputRequiredEvent) for t in produced) or any(
                matches(t, a, configs[other].accept_event_subclasses)
                for t in produced
                for other in live
                for a in configs[other].accepted_events
            ):
                live.add(name)
                grew = True
    return sorted(
        n
        for n, c in configs.items()
        if n not in live and outputs[n] and "dead_end" not in c.skip_graph_checks
    )


def _check_graph(
    configs: Mapping[str, StepConfig], start_event: type, skip: Collection[str]
) -> None:
    failures: list[tuple[str, str, str]] = []
    if "reachability" not in skip and (unreachable := _unreachable(configs, start_event)):
        failures.append(
            (
                "reachability",
                f"Unreachable steps: {', '.join(unreachable)}",
                "Steps must be reachable from StartEvent or HumanResponseEvent.",
            )
        )
    if "terminal_event" not in skip:
        terminal = [
            p
            for p in _produced(configs)
            if not _is_subclass(p, StopEvent, InputRequiredEvent) and not _is_consumed(p, configs)
        ]
        if terminal:
            failures.append(
                (
                    "terminal_event",
                    f"Events produced but never consumed: {_names(terminal)}",
                    "Only StopEvent and InputRequiredEvent may be terminal.",
                )
            )
    if "dead_end" not in skip and (dead := _dead_ends(configs)):
        failures.append(
            (
                "dead_end",
                f"Dead-end steps: {', '.join(dead)}",
                "Steps must have a path to StopEvent or InputRequiredEvent.",
            )
        )
    if failures:
        detail = "\n".join(f"  - [{check}] {what}\n    {hint}" for check, what, hint in failures)
        raise WorkflowValidationError(f"Graph validation failed:\n{detail}")


def validate_workflow(
    configs: Mapping[str, StepConfig],
    *,
    skip_graph_checks: Collection[str] = frozenset(),
    workflow_name: str = "Workflow",
) -> bool:
    """Run every structural check; returns whether the workflow uses human-in-the-loop events.

    Raises ``WorkflowConfigurationError`` (no steps, start/stop inference) or
    ``WorkflowValidationError`` (everything else).
    """
    if not configs:
        raise WorkflowConfigurationError(
            f"Workflow '{workflow_name}' has no configured steps. Did you forget to annotate "
            "methods with @step or to register free-function steps via @step(workflow=...)?"
        )
    start_event, _ = infer_start_stop(configs, workflow_name=workflow_name)
    check_stream_parameters(configs, compute_levels(configs, start_event))
    uses_hitl = _check_connectivity(configs, start_event)
    _check_catch_error(configs)
    _check_graph(configs, start_event, skip_graph_checks)
    return uses_hitl
