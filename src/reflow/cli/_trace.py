"""``reflow run --trace``: the finished run's spans as a tree, printed in the terminal.

The spans are recorded in memory for this invocation only (``capture_spans()``, next to any
OpenTelemetry setup the workflow's module made) and printed with ``render_span_tree``: on
standard output after a text result, on standard error with ``--output json`` so the JSON
document stays alone on standard output.  A failed run's tree is printed too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import click

from reflow.cli._errors import Interrupted, UsageProblem


def _missing_sdk(exc: ImportError) -> UsageProblem:
    return UsageProblem(
        f"--trace needs OpenTelemetry's SDK (pip install 'reflow[otel]' opentelemetry-sdk): {exc}"
    )


def _capture() -> Any:
    try:
        from reflow.observability import capture_spans
    except ImportError as exc:
        raise _missing_sdk(exc) from exc
    return capture_spans()


@contextmanager
def span_tree_printer(enabled: bool, output: str) -> Iterator[None]:
    """Record the spans of runs started inside the block and print their tree at its end."""
    if not enabled:
        yield
        return
    with ExitStack() as stack:
        capture = _capture()
        try:
            recorded = stack.enter_context(capture)
        except ImportError as exc:
            raise _missing_sdk(exc) from exc
        try:
            yield
        except Interrupted:
            raise
        except BaseException:
            _print(recorded.render(), output)
            raise
        _print(recorded.render(), output)


def _print(tree: str, output: str) -> None:
    if not tree:
        tree = "(no spans were recorded)"
    click.echo(tree.rstrip("\n"), err=output == "json")


__all__ = ["span_tree_printer"]
