"""The three faces of a ``Context``: before the run, outside it (handler), inside a step.

``Context`` delegates every call to its current face; a face that does not support a call
raises ``ContextStateError`` naming the method and the phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reflow.errors import ContextStateError

if TYPE_CHECKING:
    from reflow.runtime.types.plugin import ExternalRunAdapter
    from reflow.runtime.types.step_call import StepCall


def _refusal(message: str, method: str, phase: str) -> ContextStateError:
    """The peer's wording, plus ``method`` and ``phase`` attributes for programs to read."""
    error = ContextStateError(message)
    error.method = method
    error.phase = phase
    return error


@dataclass(slots=True)
class PreRunFace:
    """Before ``run()``: holds the snapshot to resume from and a staging state store."""

    snapshot: dict[str, Any] | None
    store: Any = None
    phase: str = "pre-run"

    def refuse(self, method: str) -> ContextStateError:
        return _refusal(
            f"{method} requires a running workflow. Call workflow.run() first.", method, "pre-run"
        )


@dataclass(slots=True)
class ExternalFace:
    """After ``run()``: the face the handler and outside code see."""

    adapter: ExternalRunAdapter
    store: Any
    phase: str = "external"

    def refuse(self, method: str) -> ContextStateError:
        return _refusal(
            f"{method} is only available from within step functions.", method, "external"
        )


@dataclass(slots=True)
class InternalFace:
    """Inside a step attempt."""

    call: StepCall
    store: Any
    phase: str = "internal"

    def refuse(self, method: str) -> ContextStateError:
        return _refusal(
            f"{method} is only available from handler code, not from within steps.",
            method,
            "internal",
        )


Face = PreRunFace | ExternalFace | InternalFace
