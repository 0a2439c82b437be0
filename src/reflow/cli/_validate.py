"""``reflow validate``: check a workflow's steps and event graph without running it."""

from __future__ import annotations

import click
from rich.console import Console
from rich.text import Text

from reflow.cli._errors import InvalidWorkflow, debug_option, described
from reflow.cli._targets import build_workflow, load_target
from reflow.errors import WorkflowConfigurationError, WorkflowValidationError
from reflow.events import StartEvent


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
        raise InvalidWorkflow(described(exc)) from exc
    start = workflow.start_event_class.__name__
    stop = workflow.stop_event_class.__name__
    details = f"starts with {start}, stops with {stop}"
    if uses_human_input:
        details += ", asks for human input"
    console = Console(highlight=False, soft_wrap=True)
    console.print(Text.assemble(("✓ ", "bold green"), (target, "bold"), f" is valid ({details})"))
    for line in input_lines(workflow.start_event_class):
        console.print(Text(line))


def input_lines(start_event: type[StartEvent]) -> list[str]:
    """The start event's fields as ``reflow run`` takes them (``--arg NAME=...``)."""
    fields = start_event.model_fields
    if not fields:
        return ["inputs: none declared (any --arg KEY=VALUE is passed on as it is)"]
    lines = ["inputs:"]
    for name, info in fields.items():
        annotation = info.annotation
        shown = getattr(annotation, "__name__", None) or repr(annotation).replace("typing.", "")
        default = "required" if info.is_required() else f"default {info.get_default()!r}"
        lines.append(f"  --arg {name}=...  {shown}, {default}")
    return lines
