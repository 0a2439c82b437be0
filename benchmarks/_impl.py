"""The engine under test, chosen by ``BENCH_IMPL`` (``reflow`` or ``peer``).

Both engines share one public API, so every case imports the names below from here and the very
same source runs on either. Type checkers see reflow's names: reflow is a drop-in for the peer,
so code that checks against reflow is code the peer accepts too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from benchmarks._common import engine_version, impl_name

IMPL = impl_name()
VERSION = engine_version(IMPL)

if TYPE_CHECKING:
    from reflow import Context, Workflow, step
    from reflow.events import (
        Event,
        HumanResponseEvent,
        InputRequiredEvent,
        StartEvent,
        StopEvent,
    )
elif IMPL == "peer":
    from workflows import Context, Workflow, step
    from workflows.events import (
        Event,
        HumanResponseEvent,
        InputRequiredEvent,
        StartEvent,
        StopEvent,
    )
else:
    from reflow import Context, Workflow, step
    from reflow.events import (
        Event,
        HumanResponseEvent,
        InputRequiredEvent,
        StartEvent,
        StopEvent,
    )

__all__ = [
    "IMPL",
    "VERSION",
    "Context",
    "Event",
    "HumanResponseEvent",
    "InputRequiredEvent",
    "StartEvent",
    "StopEvent",
    "Workflow",
    "step",
]
