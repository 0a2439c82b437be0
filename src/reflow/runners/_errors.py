"""The exceptions of the runners, each with an :class:`ErrorCode` (re-exported here)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from reflow.runners._error_codes import ErrorCode

if TYPE_CHECKING:
    from reflow.runners._result import CommandResult

__all__ = [
    "CommandFailed",
    "ErrorCode",
    "InvalidCommand",
    "ManifestError",
    "MissingSecret",
    "ResolutionError",
    "RunnerError",
    "SandboxError",
]


class RunnerError(Exception):
    """A command could not run, or (with ``check=True``) did not succeed.

    ``code`` is an :class:`ErrorCode`; ``result`` is the command's result when it ran.
    Messages never contain a secret value: they are masked before the error is built.
    """

    def __init__(self, message: str, code: ErrorCode, result: CommandResult | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.result = result

    def __reduce__(self) -> tuple[object, ...]:
        # Errors travel through journals and process pools: keep code and result on the way.
        return (type(self), (str(self), self.code, self.result))


class InvalidCommand(RunnerError, ValueError):
    """Bad input: an empty or non-string command, a missing cwd, a malformed option."""

    def __init__(self, message: str, code: ErrorCode = ErrorCode.INVALID_STEP) -> None:
        super().__init__(message, code)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self), self.code))


class MissingSecret(RunnerError, KeyError):
    """A command names a secret that no provider has."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.INVALID_STEP)

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self),))


class CommandFailed(RunnerError):
    """``check=True`` and the command failed, timed out or was cancelled."""


class ManifestError(RunnerError, ValueError):
    """A plugin manifest is malformed; the message names the file and the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.INVALID_MANIFEST)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self),))


class ResolutionError(RunnerError, LookupError):
    """A ``uses`` reference names no known plugin, handler or command."""

    def __init__(self, message: str) -> None:
        super().__init__(message, ErrorCode.COMMAND_RESOLUTION_FAILED)

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (str(self),))


class SandboxError(RunnerError):
    """No backend can confine the command, or strict mode refused an unenforceable grant."""
