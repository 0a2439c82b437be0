"""``import reflow`` leaves the step-signature reader unloaded until the first ``@step``; every
public name still resolves from its usual path."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
import reflow
lazy = ["reflow._steps.signature", "reflow.collect"]
print(sorted(m for m in lazy if m in sys.modules))
from reflow import Context, Workflow, catch_error, step
from reflow.collect import Collect
from reflow.events import Event, StartEvent, StepStateChanged, StopEvent, construct_trusted
from reflow.decorators import StepConfig


class Hop(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=1)


print(sorted(m for m in lazy if m in sys.modules))
print(reflow.Workflow is Workflow, Collect.__module__, StepConfig.__module__)
"""


def test_the_signature_reader_loads_with_the_first_step_not_with_import_reflow() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == [
        "[]",
        "['reflow._steps.signature', 'reflow.collect']",
        "True reflow.collect reflow.decorators",
    ]
