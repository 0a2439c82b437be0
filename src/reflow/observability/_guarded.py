"""The base of reflow's own listeners: a listener's bug is logged, never raised into the run."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from reflow.engine import Command, RunState, WorkflowTick
from reflow.runtime.listeners import RunListener
from reflow.runtime.types.step_call import StepCall

logger = logging.getLogger("reflow.observability")


class GuardedListener(RunListener):
    """Forwards ticks and attempts to ``_on_tick`` / ``_on_attempt`` until ``_ended``."""

    _ended = False

    def on_tick(self, state: RunState, tick: WorkflowTick, commands: Sequence[Command]) -> None:
        if self._ended:
            return
        try:
            self._on_tick(state, tick, commands)
        except Exception:  # observing must never break the run it observes
            logger.exception("%s failed on %s", type(self).__name__, type(tick).__name__)

    def on_attempt(self, call: StepCall) -> None:
        if self._ended:
            return
        try:
            self._on_attempt(call)
        except Exception:
            logger.exception("%s failed on an attempt of %s", type(self).__name__, call.step_name)

    def _on_tick(self, state: RunState, tick: WorkflowTick, commands: Sequence[Command]) -> None:
        raise NotImplementedError

    def _on_attempt(self, call: StepCall) -> None:
        raise NotImplementedError
