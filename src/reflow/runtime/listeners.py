"""Run listeners: the control loop's one seam for observing runs (tracing, metrics, logs).

A listener factory registered with ``add_run_listener`` is called once per run, when the
run's driver is built, inside the run's own context (so context variables it sets are seen by
the run's steps, timers and journal writes, not by the caller).  It returns a ``RunListener``
for the run, or None to leave the run alone.  The listener then sees every tick the reducer
takes and the commands it returned, the start of every step attempt (inside the attempt's own
context, before the step runs), each journal write of a durable run and the end of the run.

A run that no factory wants keeps no listener and pays one ``is None`` test per tick, after
one call of each factory when it starts.  Listeners must not raise and must not change the
ticks, commands or state they are shown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from reflow.engine import Command, RunState, WorkflowTick
from reflow.events import StopEvent

if TYPE_CHECKING:
    from reflow.runtime.control_loop import RunDriver
    from reflow.runtime.types.step_call import StepCall


class RunListener:
    """Observes one run.  Every method is a no-op: override only what you need."""

    def on_tick(self, state: RunState, tick: WorkflowTick, commands: Sequence[Command]) -> None:
        """A tick was reduced (``state`` is the state after it); its commands run next."""

    def on_attempt(self, call: StepCall) -> None:
        """A step attempt is about to start, called in the context its task will copy."""

    def on_journal_write(self, ticks: int, seconds: float) -> None:
        """A journaling adapter wrote ``ticks`` ticks in ``seconds`` (durable runs only)."""

    def on_done(self, result: asyncio.Future[StopEvent]) -> None:
        """The run's result future resolved (completed, failed, or left this process)."""


RunListenerFactory = Callable[["RunDriver", Any], "RunListener | None"]
"""Called with the run's driver and its workflow (None when the runtime did not say)."""

# Read by every new driver (an empty list: no run is observed); change it only through
# ``add_run_listener`` and its remover.
factories: list[RunListenerFactory] = []


def add_run_listener(factory: RunListenerFactory) -> Callable[[], None]:
    """Register ``factory`` for every run started from now on; returns its remover."""
    factories.append(factory)

    def remove() -> None:
        if factory in factories:
            factories.remove(factory)

    return remove


def has_run_listeners() -> bool:
    return bool(factories)


def listener_for(driver: RunDriver, workflow: Any) -> RunListener | None:
    """The listener of a new run: the one a single factory made, or all of them in turn."""
    if len(factories) == 1:
        return factories[0](driver, workflow)
    made = [
        listener
        for listener in (factory(driver, workflow) for factory in list(factories))
        if listener is not None
    ]
    if not made:
        return None
    return made[0] if len(made) == 1 else _Fanout(made)


class _Fanout(RunListener):
    __slots__ = ("_listeners",)

    def __init__(self, listeners: list[RunListener]) -> None:
        self._listeners = listeners

    def on_tick(self, state: RunState, tick: WorkflowTick, commands: Sequence[Command]) -> None:
        for listener in self._listeners:
            listener.on_tick(state, tick, commands)

    def on_attempt(self, call: StepCall) -> None:
        for listener in self._listeners:
            listener.on_attempt(call)

    def on_journal_write(self, ticks: int, seconds: float) -> None:
        for listener in self._listeners:
            listener.on_journal_write(ticks, seconds)

    def on_done(self, result: asyncio.Future[StopEvent]) -> None:
        for listener in self._listeners:
            listener.on_done(result)
