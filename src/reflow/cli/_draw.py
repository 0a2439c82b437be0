"""``reflow draw``: every possible path through a workflow, as Mermaid text or an HTML page."""

from __future__ import annotations

from pathlib import Path

import click

from reflow.cli._errors import CliError, InvalidWorkflow, debug_option, described, one_line
from reflow.cli._targets import load_target
from reflow.errors import WorkflowConfigurationError, WorkflowValidationError

DEFAULT_HTML_FILE = "workflow_all_flows.html"


@click.command("draw")
@click.argument("target")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "html"]),
    default="mermaid",
    show_default=True,
    help="mermaid: a flowchart you can paste into Markdown; html: an interactive page.",
)
@click.option(
    "-o",
    "--output",
    "output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help=f"File to write. Default: stdout for mermaid, {DEFAULT_HTML_FILE} for html.",
)
@debug_option
def draw_command(target: str, fmt: str, output: Path | None) -> None:
    """Draw every possible flow through the workflow TARGET.

    TARGET is module:attr or path/to/file.py:attr, naming a Workflow class or instance.
    """
    from reflow import drawing  # imported here: only this command needs it

    workflow = load_target(target)
    try:
        if fmt == "mermaid":
            text = drawing.draw_all_possible_flows_mermaid(
                workflow, filename=str(output) if output else ""
            )
            if output is None:
                click.echo(text)
                return
        else:
            output = output or Path(DEFAULT_HTML_FILE)
            drawing.draw_all_possible_flows(workflow, filename=str(output))
    except (WorkflowValidationError, WorkflowConfigurationError) as exc:
        raise InvalidWorkflow(described(exc)) from exc
    except OSError as exc:
        raise CliError(f"cannot write {output}: {one_line(exc)}") from exc
    click.echo(f"Wrote {output}", err=True)
