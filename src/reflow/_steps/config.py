"""What a step is: :class:`StepConfig`, the :class:`StepFunction` protocol, the graph-check names.

Kept below ``reflow.decorators`` (which re-exports them under their public names) so the
checks, the step runner and ``reflow.workflow`` can read a step without importing the
decorators.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from typing_extensions import ParamSpec

if TYPE_CHECKING:
    from pydantic import BaseModel

    from reflow.collect import Collect
    from reflow.resource import ResourceDefinition
    from reflow.retry_policy import RetryPolicy

WorkflowGraphCheck = Literal["reachability", "terminal_event", "dead_end"]
"""Graph checks a whole workflow can skip (``Workflow(skip_graph_checks=...)``)."""

StepGraphCheck = Literal["reachability", "dead_end"]
"""Graph checks one step can opt out of (``@step(skip_graph_checks=[...])``)."""

StepRole = Literal["step", "catch_error"]

STEP_GRAPH_CHECKS: frozenset[str] = frozenset({"reachability", "dead_end"})

P = ParamSpec("P")
R_co = TypeVar("R_co", covariant=True)


@dataclass
class StepConfig:
    """Everything the engine needs to know about one step.

    The first eighteen fields match ``workflows.decorators.StepConfig`` (2.26) in name, order
    and meaning; ``timeout``, ``is_async`` and ``name`` are reflow's own.
    """

    accepted_events: list[Any]
    """Event types routed to the step (for a ``list[E]`` parameter: the element types)."""
    event_name: str
    """Name of the parameter that receives the event (the first one of a multi-slot join)."""
    return_types: list[Any]
    """Declared output types, ``list[E]`` members unwrapped; ``[NoneType]`` for ``-> None``."""
    context_parameter: str | None
    """Name of the parameter annotated ``Context`` / ``Context[State]``, if any."""
    num_workers: int
    """How many invocations of this step may run at once."""
    retry_policy: RetryPolicy | None
    resources: list[ResourceDefinition]
    """Parameters annotated ``Annotated[T, Resource(...)]`` or ``ResourceConfig(...)``."""
    context_state_type: type[BaseModel] | None = None
    """``State`` of a ``Context[State]`` annotation."""
    skip_graph_checks: list[StepGraphCheck] = field(default_factory=list)
    collect_params: list[tuple[str, Any]] | None = None
    """``[(parameter, event type), ...]`` of a multi-slot join (several event parameters)."""
    is_fan_out: bool = False
    """The return annotation contains ``list[E]``: a returned list opens a stream."""
    bare_return_types: tuple[Any, ...] = ()
    """Return types declared outside any ``list[...]``, without ``None``."""
    collection_param: tuple[str, tuple[Any, ...]] | None = None
    """``(parameter, element types)`` of a ``list[E]`` fan-in parameter."""
    collection_policy: Collect | None = None
    """Release strategy of the fan-in parameter (``Collect(All())`` unless annotated)."""
    role: StepRole = "step"
    catch_error_for_steps: list[str] | None = None
    """Steps a ``@catch_error`` handler covers; ``None`` covers every unclaimed step."""
    catch_error_max_recoveries: int = 1
    accept_event_subclasses: bool = False
    """Route subclasses of the accepted types here too (exact types only by default)."""
    timeout: float | None = None
    """reflow: seconds one attempt may run before it fails with ``StepTimeoutError``."""
    is_async: bool = False
    """reflow: the function is a coroutine function (otherwise it runs in a thread)."""
    name: str = ""
    """reflow: the step's name (the function's ``__name__``)."""


class StepFunction(Protocol[P, R_co]):
    """A function that ``@step`` or ``@catch_error`` has decorated."""

    _step_config: StepConfig
    __name__: str
    __qualname__: str

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R_co: ...


class StepHost(Protocol):
    """What ``@step(workflow=...)`` needs of the class it registers a free function with."""

    @classmethod
    def add_step(cls, func: Callable[..., Any]) -> None: ...
