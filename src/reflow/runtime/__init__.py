"""Runtimes: the control loop and the adapters that connect it to the world."""

from reflow.runtime.basic import BasicRuntime, basic_runtime
from reflow.runtime.control_loop import RunDriver
from reflow.runtime.types.plugin import (
    ExternalRunAdapter,
    InternalRunAdapter,
    RegisteredWorkflow,
    Runtime,
    WaitResultTick,
    WaitResultTimeout,
)

__all__ = [
    "BasicRuntime",
    "ExternalRunAdapter",
    "InternalRunAdapter",
    "RegisteredWorkflow",
    "RunDriver",
    "Runtime",
    "WaitResultTick",
    "WaitResultTimeout",
    "basic_runtime",
]
