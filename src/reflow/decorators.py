"""``@step`` and ``@catch_error``: turning functions into workflow steps.

Both decorators return the function itself with a ``_step_config`` attribute (a
:class:`StepConfig`) attached; ``Workflow`` reads it to route events.  Methods are collected
from the class; free functions are registered with ``@step(workflow=MyWorkflow)``.
"""

from __future__ import annotations

import inspect
import math
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, overload

from typing_extensions import ParamSpec

from reflow._steps.config import (
    STEP_GRAPH_CHECKS,
    StepConfig,
    StepFunction,
    StepGraphCheck,
    StepHost,
    StepRole,
    WorkflowGraphCheck,
)
from reflow.errors import WorkflowValidationError
from reflow.events import StepFailedEvent

if TYPE_CHECKING:
    from reflow.retry_policy import RetryPolicy

__all__ = [
    "StepConfig",
    "StepFunction",
    "StepGraphCheck",
    "StepRole",
    "WorkflowGraphCheck",
    "catch_error",
    "step",
]

P = ParamSpec("P")
R = TypeVar("R")

# The public names of what ``reflow._steps.config`` defines (reprs and pickles included).
for _public in (StepConfig, StepFunction):
    _public.__module__ = __name__


def _check_callable(func: object) -> None:
    if not callable(func):
        raise TypeError(f"Expected a callable object, got {type(func).__name__}")


def _check_num_workers(num_workers: object) -> int:
    if not isinstance(num_workers, int) or num_workers <= 0:
        raise WorkflowValidationError("num_workers must be an integer greater than 0")
    return int(num_workers)


def _check_timeout(timeout: object) -> float | None:
    if timeout is None:
        return None
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, (int, float))
        or math.isnan(timeout)
        or timeout <= 0
    ):
        raise WorkflowValidationError(
            f"timeout must be a positive number of seconds or None, got {timeout!r}"
        )
    return float(timeout)


def _check_retry_policy(retry_policy: object) -> None:
    if retry_policy is not None and not callable(getattr(retry_policy, "next", None)):
        raise WorkflowValidationError(
            "retry_policy must be a RetryPolicy (an object with a "
            f"next(elapsed_time, attempts, error) method), got {type(retry_policy).__name__}"
        )


def _check_skip_graph_checks(names: Iterable[str] | str | None) -> list[StepGraphCheck]:
    if names is None:
        return []
    listed = [names] if isinstance(names, str) else list(names)
    unknown = sorted({str(n) for n in listed} - STEP_GRAPH_CHECKS)
    if unknown:
        raise WorkflowValidationError(
            f"Unknown step graph check names: {', '.join(unknown)}. "
            f"Valid names are: {', '.join(sorted(STEP_GRAPH_CHECKS))}"
        )
    return listed  # type: ignore[return-value]


def _make_config(
    func: Callable[..., Any],
    localns: dict[str, Any],
    *,
    num_workers: int,
    retry_policy: RetryPolicy | None,
    skip_graph_checks: list[StepGraphCheck],
    accept_event_subclasses: bool,
    timeout: float | None,
    role: StepRole = "step",
    for_steps: list[str] | None = None,
    max_recoveries: int = 1,
) -> StepConfig:
    from reflow._steps.signature import inspect_step_signature

    try:
        parameter_names = list(inspect.signature(func).parameters)
    except (TypeError, ValueError) as exc:
        raise WorkflowValidationError(f"Cannot read the signature of {func!r}: {exc}") from exc
    signature = inspect_step_signature(func, parameter_names, localns)
    return StepConfig(
        accepted_events=signature.accepted_events,
        event_name=signature.event_name,
        return_types=signature.return_types,
        context_parameter=signature.context_parameter,
        num_workers=num_workers,
        retry_policy=retry_policy,
        resources=signature.resources,
        context_state_type=signature.context_state_type,
        skip_graph_checks=skip_graph_checks,
        collect_params=signature.collect_params,
        is_fan_out=signature.is_fan_out,
        bare_return_types=signature.bare_return_types,
        collection_param=signature.collection_param,
        collection_policy=signature.collection_policy,
        role=role,
        catch_error_for_steps=for_steps,
        catch_error_max_recoveries=max_recoveries,
        accept_event_subclasses=bool(accept_event_subclasses),
        timeout=timeout,
        is_async=inspect.iscoroutinefunction(func),
        name=getattr(func, "__name__", ""),
    )


@overload
def step(
    func: None = None,
    *,
    workflow: type[StepHost] | None = None,
    num_workers: int = 4,
    retry_policy: RetryPolicy | None = None,
    skip_graph_checks: list[StepGraphCheck] | None = None,
    accept_event_subclasses: bool = False,
    timeout: float | None = None,
) -> Callable[[Callable[P, R]], StepFunction[P, R]]: ...


@overload
def step(
    func: Callable[P, R],
    *,
    workflow: type[StepHost] | None = None,
    num_workers: int = 4,
    retry_policy: RetryPolicy | None = None,
    skip_graph_checks: list[StepGraphCheck] | None = None,
    accept_event_subclasses: bool = False,
    timeout: float | None = None,
) -> StepFunction[P, R]: ...


def step(
    func: Callable[P, R] | None = None,
    *,
    workflow: type[StepHost] | None = None,
    num_workers: int = 4,
    retry_policy: RetryPolicy | None = None,
    skip_graph_checks: list[StepGraphCheck] | None = None,
    accept_event_subclasses: bool = False,
    timeout: float | None = None,
) -> Callable[[Callable[P, R]], StepFunction[P, R]] | StepFunction[P, R]:
    """Mark a function as a workflow step; usable bare (``@step``) or called (``@step(...)``).

    ``workflow`` registers a free function with that Workflow class.  ``num_workers`` caps
    concurrent invocations, ``retry_policy`` decides retries after a failure,
    ``skip_graph_checks`` opts this step out of ``"reachability"`` / ``"dead_end"``,
    ``accept_event_subclasses`` routes subclasses of the accepted events here too, and
    ``timeout`` (reflow only) limits each attempt to that many seconds.
    """

    def decorator(fn: Callable[P, R]) -> StepFunction[P, R]:
        return _decorate_step(fn, sys._getframe(1), options)

    options = _StepOptions(
        workflow=workflow,
        num_workers=num_workers,
        retry_policy=retry_policy,
        skip_graph_checks=skip_graph_checks,
        accept_event_subclasses=accept_event_subclasses,
        timeout=timeout,
    )
    if func is None:
        return decorator
    return _decorate_step(func, sys._getframe(1), options)


@dataclass
class _StepOptions:
    workflow: type[StepHost] | None
    num_workers: int
    retry_policy: RetryPolicy | None
    skip_graph_checks: list[StepGraphCheck] | None
    accept_event_subclasses: bool
    timeout: float | None


def _decorate_step(
    fn: Callable[P, R], frame: types.FrameType | None, options: _StepOptions
) -> StepFunction[P, R]:
    """Checks in llama-index-workflows' order: arguments, signature, then free-function rule."""
    # The signature reader (and reflow.collect) load with the first @step, not `import reflow`.
    from reflow._steps.signature import capture_localns, is_free_function

    _check_callable(fn)
    workers = _check_num_workers(options.num_workers)
    skip = _check_skip_graph_checks(options.skip_graph_checks)
    timeout = _check_timeout(options.timeout)
    _check_retry_policy(options.retry_policy)
    config = _make_config(
        fn,
        capture_localns(fn, frame),
        num_workers=workers,
        retry_policy=options.retry_policy,
        skip_graph_checks=skip,
        accept_event_subclasses=options.accept_event_subclasses,
        timeout=timeout,
    )
    free = is_free_function(fn)
    if free and options.workflow is None:
        raise WorkflowValidationError(
            f"To decorate {fn.__name__} please pass a workflow class to the @step decorator."
        )
    decorated = _attach(fn, config)
    if free and options.workflow is not None:
        _check_workflow_class(options.workflow)
        options.workflow.add_step(decorated)
    return decorated


def _check_workflow_class(workflow: object) -> None:
    if not (isinstance(workflow, type) and callable(getattr(workflow, "add_step", None))):
        raise WorkflowValidationError(
            f"@step(workflow=...) expects a Workflow subclass, got {workflow!r}"
        )


def _attach(func: Callable[P, R], config: StepConfig) -> StepFunction[P, R]:
    func._step_config = config  # type: ignore[attr-defined]
    return func  # type: ignore[return-value]


def _check_max_recoveries(max_recoveries: object) -> int:
    if not isinstance(max_recoveries, int) or max_recoveries < 1:
        raise WorkflowValidationError("@catch_error max_recoveries must be an integer >= 1")
    return int(max_recoveries)


def _check_for_steps(for_steps: object) -> list[str] | None:
    if for_steps is None:
        return None
    if not isinstance(for_steps, list) or not all(isinstance(n, str) for n in for_steps):
        raise WorkflowValidationError(
            "@catch_error for_steps must be None or a list of step name strings"
        )
    return list(for_steps)


@overload
def catch_error(
    func: None = None, *, for_steps: list[str] | None = None, max_recoveries: int = 1
) -> Callable[[Callable[P, R]], StepFunction[P, R]]: ...


@overload
def catch_error(
    func: Callable[P, R], *, for_steps: list[str] | None = None, max_recoveries: int = 1
) -> StepFunction[P, R]: ...


def catch_error(
    func: Callable[P, R] | None = None,
    *,
    for_steps: list[str] | None = None,
    max_recoveries: int = 1,
) -> Callable[[Callable[P, R]], StepFunction[P, R]] | StepFunction[P, R]:
    """Mark a step that handles failures of other steps once their retries are exhausted.

    The handler takes a ``StepFailedEvent``.  ``for_steps=None`` covers every step no scoped
    handler claims; ``max_recoveries`` bounds how often it may recover one event lineage.
    Handlers run one at a time and are never retried.
    """
    recoveries = _check_max_recoveries(max_recoveries)
    targets = _check_for_steps(for_steps)

    def decorate(fn: Callable[P, R], frame: types.FrameType | None) -> StepFunction[P, R]:
        from reflow._steps.signature import capture_localns

        _check_callable(fn)
        config = _make_config(
            fn,
            capture_localns(fn, frame),
            num_workers=1,
            retry_policy=None,
            skip_graph_checks=[],
            accept_event_subclasses=False,
            timeout=None,
            role="catch_error",
            for_steps=targets,
            max_recoveries=recoveries,
        )
        if config.accepted_events != [StepFailedEvent]:
            raise WorkflowValidationError(
                f"@catch_error handler '{fn.__name__}' must accept StepFailedEvent as its event "
                "parameter."
            )
        return _attach(fn, config)

    def decorator(fn: Callable[P, R]) -> StepFunction[P, R]:
        return decorate(fn, sys._getframe(1))

    if func is None:
        return decorator
    return decorate(func, sys._getframe(1))
