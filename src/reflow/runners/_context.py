"""``StepContext``: what any step gets from the runners: ids, a logger, secrets, artifacts."""

from __future__ import annotations

from typing import Any

from reflow.errors import WorkflowRuntimeError
from reflow.runners._artifacts import ArtifactStore
from reflow.runners._config import Runners, default_runners, register_step_context
from reflow.runners._identity import StepIdentity, current_identity
from reflow.runners._logger import StepLogger
from reflow.runners._result import CommandResult
from reflow.runners._sandbox_run import PluginRun, run_plugin
from reflow.runners._secrets import Secrets
from reflow.runners._shell import run_shell


class StepContext:
    """The running step seen by the runners; every property reads the attempt running now.

    One instance may be shared by every step (it is what ``Resource(runners.context)``
    caches): the ids are looked up from the calling step each time, never stored.
    """

    def __init__(self, runners: Runners | None = None) -> None:
        self.runners = runners or default_runners()
        self.log = StepLogger(self.runners)

    def _identity(self) -> StepIdentity:
        ident = current_identity()
        if ident is None:
            raise WorkflowRuntimeError("StepContext is only usable from within a step function")
        return ident

    @property
    def run_id(self) -> str:
        return self._identity().run_id

    @property
    def step(self) -> str:
        return self._identity().step

    @property
    def attempt(self) -> int:
        return self._identity().attempt

    @property
    def idempotency_key(self) -> str:
        return self._identity().idempotency_key

    @property
    def trace_id(self) -> str:
        return self._identity().trace_id

    @property
    def span_id(self) -> str:
        return self._identity().span_id

    @property
    def secrets(self) -> Secrets:
        return self.runners.secrets

    @property
    def env(self) -> dict[str, str]:
        return dict(self.runners.env)  # type: ignore[arg-type]

    @property
    def artifacts(self) -> ArtifactStore:
        """This step's artifacts in this run."""
        ident = self._identity()
        return ArtifactStore(self.runners.artifacts_root, ident.run_id, ident.step)

    def artifacts_of(self, step: str) -> ArtifactStore:
        """Another step's artifacts in this run (to read what it produced)."""
        return ArtifactStore(self.runners.artifacts_root, self._identity().run_id, step)

    async def run_shell(self, command: Any, **options: Any) -> CommandResult:
        return await run_shell(command, runners=self.runners, **options)

    async def run_plugin(self, uses: str, **options: Any) -> PluginRun:
        return await run_plugin(uses, runners=self.runners, **options)


def current_step_context(runners: Runners | None = None) -> StepContext:
    """A :class:`StepContext` for the calling step (raises outside a step)."""
    context = StepContext(runners)
    context._identity()
    return context


register_step_context(StepContext)
