"""The structured result of one command."""

from __future__ import annotations

import signal as _signal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from reflow.runners._error_codes import ErrorCode

Status = Literal["success", "failed", "timed_out", "cancelled"]

RESERVED_OUTPUT_KEYS = frozenset(
    {"stdout", "stderr", "exit_code", "exitCode", "ok", "status", "signal", "duration", "error"}
)
"""Keys a command's parsed outputs may not set: they describe the run, not its data."""


class ErrorInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: ErrorCode
    message: str


class CommandResult(BaseModel):
    """What a command did. ``status`` is ``success`` only for exit code 0 within the timeout."""

    model_config = ConfigDict(frozen=True)

    status: Status
    command: str = Field(description="the command as run, secrets masked")
    exit_code: int | None = None
    signal: int | None = Field(default=None, description="the signal that ended the process")
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    duration: float = 0.0
    outputs: dict[str, Any] = Field(default_factory=dict)
    error: ErrorInfo | None = None
    backend: str | None = Field(default=None, description="the sandbox backend, for plugins")

    @property
    def ok(self) -> bool:
        return self.status == "success"

    @property
    def signal_name(self) -> str | None:
        if self.signal is None:
            return None
        try:
            return _signal.Signals(self.signal).name
        except ValueError:
            return f"signal {self.signal}"

    def flat(self) -> dict[str, Any]:
        """Outputs plus ``stdout``, ``stderr``, ``exit_code``, ``ok``; the reserved keys win."""
        return {
            **self.outputs,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "exit_code": self.exit_code,
            "ok": self.ok,
        }
