"""The functional core: run state, ticks, commands and the reducer.

Nothing in this package does I/O, reads a clock, draws random numbers or touches asyncio.
"""

from reflow.engine._notices import StepNotice, notice_event
from reflow.engine.commands import (
    TERMINAL_COMMANDS,
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandCompleteRun,
    CommandFailRun,
    CommandHaltRun,
    CommandIdleCheck,
    CommandPublish,
    CommandReply,
    CommandRunStep,
    CommandSchedule,
    RetryState,
)
from reflow.engine.reducer import reduce
from reflow.engine.state import RunConfig, RunState, StepSpec
from reflow.engine.ticks import (
    TickAddEvent,
    TickCancelRun,
    TickCollect,
    TickIdleCheck,
    TickPublishEvent,
    TickStartRun,
    TickStepFailed,
    TickStepReturned,
    TickStepWaiting,
    TickTimerFired,
    WorkflowTick,
)

__all__ = [
    "TERMINAL_COMMANDS",
    "Command",
    "CommandCancelStep",
    "CommandCancelTimer",
    "CommandCompleteRun",
    "CommandFailRun",
    "CommandHaltRun",
    "CommandIdleCheck",
    "CommandPublish",
    "CommandReply",
    "CommandRunStep",
    "CommandSchedule",
    "RetryState",
    "RunConfig",
    "RunState",
    "StepNotice",
    "StepSpec",
    "TickAddEvent",
    "TickCancelRun",
    "TickCollect",
    "TickIdleCheck",
    "TickPublishEvent",
    "TickStartRun",
    "TickStepFailed",
    "TickStepReturned",
    "TickStepWaiting",
    "TickTimerFired",
    "WorkflowTick",
    "notice_event",
    "reduce",
]
