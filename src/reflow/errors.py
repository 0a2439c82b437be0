"""Exceptions raised by reflow.

The first nine classes mirror ``workflows.errors`` one for one, so ``except`` clauses written
for llama-index-workflows keep working.  The rest are reflow's own and each subclasses the
built-in exception a caller would naturally catch.
"""

from __future__ import annotations


class WorkflowValidationError(Exception):
    """A step signature, the event graph or a decorator argument is invalid."""


class WorkflowConfigurationError(Exception):
    """The workflow cannot be built: no steps, or not exactly one start and one stop event."""


class WorkflowTimeoutError(Exception):
    """The run exceeded the workflow's ``timeout``."""


class WorkflowRuntimeError(Exception):
    """The run was driven in a way that cannot work (bad targeting, a non-Event result, ...)."""


class WorkflowDone(Exception):
    """Kept for import compatibility; reflow never raises it."""


class WorkflowCancelledByUser(Exception):
    """The run was cancelled through ``handler.cancel_run()`` or a cancel tick."""


class WorkflowStepDoesNotExistError(Exception):
    """Kept for import compatibility; unknown steps raise ``WorkflowRuntimeError``."""


class ContextSerdeError(Exception):
    """A context snapshot could not be read or written."""


class ContextStateError(Exception):
    """A ``Context`` method was called in a phase (pre-run, external, step) that forbids it.

    ``method`` names the method and ``phase`` the context's phase (``"pre-run"``,
    ``"external"`` or ``"internal"``) when reflow raised it for a wrong-phase call.
    """

    method: str | None = None
    phase: str | None = None


class StepTimeoutError(TimeoutError):
    """One attempt of a step ran longer than its ``@step(timeout=...)``.

    It is a step failure like any other: the step's retry policy sees it first, then
    ``@catch_error`` handlers.
    """

    def __init__(self, step_name: str, timeout: float) -> None:
        super().__init__(f"Step {step_name!r} timed out after {timeout:g} seconds")
        self.step_name = step_name
        self.timeout = timeout

    def __reduce__(self) -> tuple[type[StepTimeoutError], tuple[str, float]]:
        return (type(self), (self.step_name, self.timeout))


class SerializationError(ValueError):
    """A value cannot be serialized; ``path`` says where it sits (``state.customer.client``).

    Raised when the value is stored or sent, not later when a snapshot is taken.
    """

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"Cannot serialize the value at {path}: {reason}")
        self.path = path
        self.reason = reason

    def __reduce__(self) -> tuple[type[SerializationError], tuple[str, str]]:
        return (type(self), (self.path, self.reason))


__all__ = [
    "ContextSerdeError",
    "ContextStateError",
    "SerializationError",
    "StepTimeoutError",
    "WorkflowCancelledByUser",
    "WorkflowConfigurationError",
    "WorkflowDone",
    "WorkflowRuntimeError",
    "WorkflowStepDoesNotExistError",
    "WorkflowTimeoutError",
    "WorkflowValidationError",
]
