"""What a run waits for, as its run row records it (``waiting_on``, read by ``list_runs``).

A live run writes it with every journal batch, so that any process, and the command line, can
tell which event would move a run on without rebuilding its state.
"""

from __future__ import annotations

import contextlib
from typing import Any

from reflow.durable._encoding import dumps
from reflow.engine import RunState
from reflow.events import StartEvent


def waiting_on(state: RunState, inputs: tuple[str, ...] = ()) -> str | None:
    """The event types the run waits for, as stored in the run row (JSON), or None.

    A ``wait_for_event`` waits for its type; a run with nothing left to do (no step running or
    queued, no timer) also waits for its ``inputs``: the types its steps accept that no step
    returns, such as the ``HumanResponseEvent`` that answers an ``InputRequiredEvent``.
    """
    names = {
        f"{w.event_type.__module__}.{w.event_type.__qualname__}" for w in state.waiters.values()
    }
    if inputs and state.status == "running" and state.is_quiescent():
        # A pending timer (a retry, a delayed event) is work still to come; the run's own
        # timeout is not.
        timers = len(state.timers) - (state.run_timer in state.timers)
        if not timers:
            names.update(inputs)
    return dumps(sorted(names)) if names else None


def external_inputs(workflow: Any) -> tuple[str, ...]:
    """The event types ``workflow``'s steps accept that none of its steps returns.

    Kept on the workflow for its current step configurations: every run of it asks.
    """
    configs = getattr(workflow, "_configs", None) or {}
    cached = getattr(workflow, "_reflow_durable_inputs", None)
    if cached is not None and cached[0] is configs:
        return cached[1]  # type: ignore[no-any-return]
    returned: set[type] = set()
    for config in configs.values():
        returned.update(t for t in config.return_types if isinstance(t, type))
    names = {
        f"{t.__module__}.{t.__qualname__}"
        for config in configs.values()
        for t in config.accepted_events
        if isinstance(t, type) and not issubclass(t, StartEvent) and t not in returned
    }
    inputs = tuple(sorted(names))
    with contextlib.suppress(AttributeError, TypeError):  # a workflow that keeps no attributes
        workflow._reflow_durable_inputs = (configs, inputs)
    return inputs
