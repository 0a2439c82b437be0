"""The ``reflow`` command line: run, draw and validate workflows.

``main`` is the console-script entry point (``reflow = "reflow.cli:main"``).
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from reflow._version import __version__
from reflow.cli._draw import draw_command
from reflow.cli._errors import (
    CliError,
    Interrupted,
    debug_enabled,
    debug_option,
    one_line,
    print_cause,
)
from reflow.cli._flow import flow_group
from reflow.cli._run import run_command
from reflow.cli._runs import runs_group
from reflow.cli._serve import serve_command
from reflow.cli._validate import validate_command
from reflow.cli._worker import worker_command


class ReflowGroup(click.Group):
    """Turns every failure into one ``Error:`` line (plus a traceback with ``--debug``)."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        try:
            try:
                return super().main(*args, **kwargs)
            finally:
                sys.stdout.flush()  # here, where a closed pipe can still be handled
        except BrokenPipeError:
            # ``reflow runs list | head``: the reader left; say nothing, and keep the
            # interpreter from complaining while it flushes stdout at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(0)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            raise Interrupted() from None
        except BrokenPipeError:
            raise  # handled in ``main``: the reader of our output left
        except CliError as error:
            if debug_enabled(ctx) and error.__cause__ is not None:
                print_cause(error)
            raise
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if debug_enabled(ctx):
                print_cause(exc)
                raise CliError(f"unexpected error: {one_line(exc)}") from exc
            raise CliError(
                f"unexpected error: {one_line(exc)} (run with --debug for the traceback)"
            ) from exc


@click.group(cls=ReflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reflow")
@debug_option
def main() -> None:
    """reflow: event-driven, step-based workflows.

    Run `reflow COMMAND --help` for the options of each command.
    """


main.add_command(run_command)
main.add_command(draw_command)
main.add_command(validate_command)
main.add_command(runs_group)
main.add_command(flow_group)
main.add_command(serve_command)
main.add_command(worker_command)

__all__ = ["main"]
