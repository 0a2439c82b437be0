"""``reflow validate``: check a workflow's steps and event graph without running it."""

from __future__ import annotations

import click
from rich.console import Console
from rich.text import Text

from reflow.cli._errors import InvalidWorkflow, debug_option
from reflow.cli._targets import build_workflow, load_target
from reflow.errors import WorkflowConfigurationError, WorkflowValidationError


@click.command("validate")
@click.argument("target")
@debug_option
def validate_command(target: str) -> None:
    """Check that the workflow TARGET is valid, without running it.

    TARGET is module:attr or path/to/file.py:attr. Exits 0 when valid, 2 with the validation
    message when not.
    """
    workflow = build_workflow(load_target(target))
    try:
        uses_human_input = workflow.validate()
    except (WorkflowValidationError, WorkflowConfigurationError) as exc:
        raise InvalidWorkflow(str(exc)) from exc
    start = workflow.start_event_class.__name__
    stop = workflow.stop_event_class.__name__
    details = f"starts with {start}, stops with {stop}"
    if uses_human_input:
        details += ", asks for human input"
    Console(highlight=False, soft_wrap=True).print(
        Text.assemble(("✓ ", "bold green"), (target, "bold"), f" is valid ({details})")
    )
