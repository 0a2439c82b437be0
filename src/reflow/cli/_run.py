"""``reflow run``: run a workflow from the terminal and print its result."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from typing import Any

import click
from pydantic import TypeAdapter
from rich.console import Console
from rich.pretty import Pretty
from rich.text import Text

from reflow import Workflow
from reflow.cli._drive import RunOutcome, drive
from reflow.cli._errors import Interrupted, RunFailed, UsageProblem, debug_option, one_line
from reflow.cli._format import event_fields, to_jsonable
from reflow.cli._live import LineView, LiveView, QuietView, RunView, format_seconds
from reflow.cli._targets import build_workflow, load_target
from reflow.events import Event, StopEvent

_RESERVED_KEYS = {"run_id": "--run-id"}


def _parse_value(raw: str, field_type: Any | None) -> Any:
    """Turn the text of ``--arg KEY=VALUE`` into a start-event value.

    A declared field gets the text itself when its type accepts text (``str``, and types pydantic
    reads from text, such as ``int`` from ``"3"``), else the text read as JSON when that fits
    (``list[str]`` from ``'["a"]'``). An undeclared field gets the text read as JSON when it is
    JSON, else the text.
    """
    if field_type is not None:
        adapter: TypeAdapter[Any] = TypeAdapter(field_type)
        for validate in (adapter.validate_python, adapter.validate_json):
            try:
                return validate(raw)
            except Exception:
                continue
        return raw  # let the start event report the mismatch
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_start_kwargs(
    args: Collection[str], json_text: str | None, declared: dict[str, Any]
) -> dict[str, Any]:
    """Merge ``--json`` and then ``--arg`` pairs (which win) into ``workflow.run`` kwargs.

    ``declared`` maps the start event's field names to their types.
    """
    kwargs: dict[str, Any] = {}
    if json_text is not None:
        try:
            loaded = json.loads(json_text)
        except ValueError as exc:
            raise UsageProblem(f"--json is not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise UsageProblem(f"--json must be a JSON object, got {type(loaded).__name__}")
        kwargs.update(loaded)
    for item in args:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageProblem(f"--arg {item!r}: expected KEY=VALUE")
        kwargs[key] = _parse_value(raw, declared.get(key))
    for key, option in _RESERVED_KEYS.items():
        if key in kwargs:
            raise UsageProblem(f"{key!r} cannot be a start argument; use {option}")
    return kwargs


def _declared_fields(workflow: Workflow) -> dict[str, Any]:
    fields = workflow.start_event_class.model_fields
    return {name: info.annotation for name, info in fields.items()}


def _make_view(output: str) -> RunView:
    if output == "json":
        return QuietView(Console(stderr=True), Console(stderr=True))
    console = Console(highlight=False, soft_wrap=True)
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveView(console)
    return LineView(console)


def _print_text_result(outcome: RunOutcome) -> None:
    console = Console(highlight=False, soft_wrap=True)
    took = format_seconds(outcome.seconds)
    console.print(Text(f"✓ completed in {took}", style="bold green"))
    result = outcome.result
    if isinstance(result, Event):
        console.print(Text(type(result).__name__, style="bold"), Pretty(event_fields(result)))
    elif result is not None:
        console.print(Pretty(result) if not isinstance(result, str) else Text(result))


def _failure_message(outcome: RunOutcome) -> str:
    where = f" in step {outcome.failed_step!r}" if outcome.failed_step else ""
    error = outcome.error
    detail = one_line(error) if error is not None else "unknown error"
    return f"run {outcome.run_id} failed{where}: {detail}"


def _json_document(outcome: RunOutcome) -> dict[str, Any]:
    document: dict[str, Any] = {
        "run_id": outcome.run_id,
        "workflow": outcome.workflow_name,
        "status": "completed" if outcome.error is None else "failed",
        "seconds": round(outcome.seconds, 3),
    }
    if outcome.error is None:
        result = outcome.result
        if isinstance(result, StopEvent) and type(result) is not StopEvent:
            document["result_type"] = type(result).__name__
        document["result"] = to_jsonable(result)
    else:
        document["error"] = {
            "type": type(outcome.error).__name__,
            "message": str(outcome.error),
            "step": outcome.failed_step,
        }
    return document


async def _drive_durably(
    workflow: Workflow,
    db_path: str,
    kwargs: dict[str, Any],
    view: RunView,
    deadline: float | None,
) -> RunOutcome:
    from reflow.durable import JournalError
    from reflow.durable._cli import drive_durably

    try:
        return await drive_durably(
            workflow, db_path, lambda: drive(workflow, kwargs, view, deadline)
        )
    except JournalError as exc:
        raise UsageProblem(f"--db: {exc}") from exc


@click.command("run")
@click.argument("target")
@click.option(
    "--arg",
    "args",
    multiple=True,
    metavar="KEY=VALUE",
    help="A start-event field; repeatable. VALUE is read as JSON when it is valid JSON for the "
    "field (3, true, [1, 2]), otherwise as text.",
)
@click.option(
    "--json",
    "json_text",
    metavar="JSON",
    help="Start-event fields as one JSON object; --arg values override its keys.",
)
@click.option("--run-id", metavar="ID", help="Use this run id instead of a generated one.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    metavar="SECONDS",
    help="Fail the run if it has not finished after this many seconds.",
)
@click.option(
    "--output",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: live progress and a readable result; json: one JSON document on stdout.",
)
@click.option(
    "--db",
    "db_path",
    default="runs.db",
    envvar="REFLOW_RUNS_DB",
    show_default=True,
    metavar="PATH",
    help="The journal the run is kept in (see `reflow runs`); --run-id of an unfinished run "
    "resumes it, of a finished one shows its result.",
)
@click.option("--memory", is_flag=True, help="Run in memory only: nothing is journaled.")
@debug_option
def run_command(
    target: str,
    args: tuple[str, ...],
    json_text: str | None,
    run_id: str | None,
    timeout: float | None,
    output: str,
    db_path: str,
    memory: bool,
) -> None:
    """Run the workflow TARGET and print its result.

    TARGET is module:attr or path/to/file.py:attr, naming a Workflow class or instance. Steps
    and streamed events are shown as they happen; when the workflow asks for input
    (InputRequiredEvent), the question is asked here and the answer is sent back as a
    HumanResponseEvent(response=...). The run is journaled in --db unless --memory is given.

    Exit codes: 0 success, 1 the run failed, 2 bad usage or an invalid workflow.
    """
    loaded = load_target(target)
    # A class gets the timeout as its own; an instance's timeout is fixed, so the CLI enforces it.
    workflow = build_workflow(loaded, timeout)
    deadline = timeout if isinstance(loaded, Workflow) else None
    kwargs = parse_start_kwargs(args, json_text, _declared_fields(workflow))
    if run_id is not None:
        kwargs["run_id"] = run_id
    view = _make_view(output)
    try:
        if memory:
            outcome = asyncio.run(drive(workflow, kwargs, view, deadline))
        else:
            outcome = asyncio.run(_drive_durably(workflow, db_path, kwargs, view, deadline))
    except KeyboardInterrupt:
        view.finish()
        raise Interrupted() from None
    if output == "json":
        click.echo(json.dumps(_json_document(outcome), indent=2, ensure_ascii=False))
    elif outcome.error is None:
        _print_text_result(outcome)
    if outcome.error is not None:
        raise RunFailed(_failure_message(outcome)) from outcome.error
