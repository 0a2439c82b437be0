"""``VerboseDecorator``: logs every step attempt of the runs it decorates."""

from __future__ import annotations

import logging
from typing import Any

from reflow.events import Event
from reflow.runtime.runtime_decorators import BaseRuntimeDecorator
from reflow.runtime.types.plugin import RegisteredWorkflow
from reflow.runtime.types.step_call import StepCall, StepWorkerFunction

logger = logging.getLogger("reflow.verbose")


def _say(message: str) -> None:
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(message)
    elif logger.isEnabledFor(logging.INFO):
        logger.info(message)
    else:
        print(message)


def _verbose_step(name: str, inner: StepWorkerFunction) -> StepWorkerFunction:
    async def run_step(call: StepCall) -> Event | list[Event] | None:
        _say(f"Running step {name}")
        result = await inner(call)
        if result is None:
            _say(f"Step {name} produced no event")
        else:
            _say(f"Step {name} produced event {type(result).__name__}")
        return result

    return run_step


class VerboseDecorator(BaseRuntimeDecorator):
    def register(self, workflow: Any) -> RegisteredWorkflow:
        inner = self._decorated.register(workflow)
        steps = {name: _verbose_step(name, fn) for name, fn in inner.steps.items()}
        return RegisteredWorkflow(workflow=inner.workflow, steps=steps)
