"""Exceptions of the durable runtime.

``JournalError`` and its subclasses are what a user sees; the others are signals the runtime
handles itself (a run that already exists, a lease taken over by another process).
"""

from __future__ import annotations

from reflow.errors import WorkflowRuntimeError


class JournalError(WorkflowRuntimeError):
    """The journal file cannot be opened, read or written; the message names the file."""


class JournalBusy(JournalError):
    """Other processes kept the journal locked for longer than the runtime is willing to wait."""


class UnknownRun(WorkflowRuntimeError, KeyError):
    """No run with this id exists in the journal."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class RunExists(Exception):
    """A run with this id is already in the journal (the caller attaches to it instead)."""


class LeaseLost(Exception):
    """Another process owns this run now: this process must stop driving it."""


class RunReleased(Exception):
    """The run was released from this process's memory; it continues wherever it is reloaded."""
