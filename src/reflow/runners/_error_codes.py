"""The error codes of the runners: one for each way a command can fail.

Apart from the exceptions (``_errors``) because a command's result (``_result``) carries a
code too, and the exceptions carry a result.
"""

from __future__ import annotations

from enum import Enum


class ErrorCode(str, Enum):
    """Why a command did not succeed (``CommandResult.error.code``, ``RunnerError.code``)."""

    INVALID_STEP = "INVALID_STEP"
    """The command, its cwd or another argument is malformed."""
    UNSUPPORTED_STEP = "UNSUPPORTED_STEP"
    """A ``uses`` reference of a kind this runner does not execute."""
    COMMAND_NOT_FOUND = "COMMAND_NOT_FOUND"
    """The executable does not exist or is not executable."""
    EXECUTION_FAILED = "STEP_EXECUTION_FAILED"
    """The command ran and exited non-zero, or was killed by a signal reflow did not send."""
    TIMEOUT = "STEP_TIMEOUT"
    """The command ran past its timeout and was terminated."""
    CANCELLED = "STEP_CANCELLED"
    """The command was cancelled and terminated."""
    COMMAND_RESOLUTION_FAILED = "COMMAND_RESOLUTION_FAILED"
    """A plugin, handler or command reference names nothing known."""
    INVALID_MANIFEST = "INVALID_MANIFEST"
    """A plugin manifest does not validate."""
    SANDBOX_UNAVAILABLE = "SANDBOX_UNAVAILABLE"
    """No sandbox backend works on this host."""
    PERMISSION_NOT_ENFORCEABLE = "PERMISSION_NOT_ENFORCEABLE"
    """Strict mode: the chosen backend cannot enforce a requested grant."""
