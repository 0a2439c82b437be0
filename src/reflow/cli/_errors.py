"""The CLI's failures, each with its exit code, and the ``--debug`` switch that reveals causes.

Exit codes: 0 success, 1 the run failed, 2 bad usage or an invalid workflow, 130 interrupted.
Every failure prints one ``Error: ...`` line; with ``--debug`` the traceback of the exception
that caused it is printed first.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any, TypeVar

import click

from reflow._steps.notes import notes_of

DEBUG_KEY = "reflow.debug"

F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """A failure reported as one line on stderr."""

    exit_code = 1


class UsageProblem(CliError):
    """The command line is wrong: a bad TARGET, ``--arg`` or ``--json``."""

    exit_code = 2


class InvalidWorkflow(CliError):
    """The target is not a valid workflow; the message is the validation message."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(f"invalid workflow: {message}")


class RunFailed(CliError):
    """The workflow ran and failed, timed out or was cancelled."""

    exit_code = 1


class Interrupted(CliError):
    """The user pressed Ctrl-C."""

    exit_code = 130

    def __init__(self, message: str = "interrupted") -> None:
        super().__init__(message if message == "interrupted" else f"interrupted: {message}")


def _enable_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[DEBUG_KEY] = True


def debug_option(func: F) -> F:
    """Add ``--debug`` to a command or group; it is shared by the whole invocation."""
    option = click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_enable_debug,
        help="Print the full traceback when something fails.",
    )
    return option(func)


def debug_enabled(ctx: click.Context) -> bool:
    return bool(ctx.meta.get(DEBUG_KEY, False))


def print_cause(error: BaseException) -> None:
    """Print the traceback of what caused ``error`` (or of ``error`` itself) to stderr."""
    cause = error.__cause__ if error.__cause__ is not None else error
    traceback.print_exception(type(cause), cause, cause.__traceback__, file=sys.stderr)


def described(exc: BaseException) -> str:
    """The message of ``exc`` with its notes (where the code is, what was wrong)."""
    notes = notes_of(exc)
    text = str(exc).strip()
    return f"{text} ({'; '.join(notes)})" if notes else text


def one_line(exc: BaseException) -> str:
    """``TypeName: message`` on a single line (the first line of a multi-line message)."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    notes = notes_of(exc)
    if notes:
        first = f"{first} ({'; '.join(notes)})"
    name = type(exc).__name__
    return f"{name}: {first}" if first else name
