"""``reflow run``: run a workflow from the terminal and print its result."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection
from typing import Any

import click
from pydantic import TypeAdapter
from rich.console import Console

from reflow import Workflow
from reflow.cli._cluster import DEFAULT_SCHEMA, cluster_runtime, is_cluster, submit
from reflow.cli._drive import Attachment, RunOutcome, drive
from reflow.cli._errors import F, Interrupted, RunFailed, UsageProblem, debug_option
from reflow.cli._live import LineView, LiveView, QuietView, RunView
from reflow.cli._report import (
    failure_message,
    json_document,
    print_submitted,
    print_text_result,
    print_waiting,
    resume_command,
    submitted_document,
)
from reflow.cli._summary import SummaryView
from reflow.cli._targets import build_workflow, load_target, target_for_journal
from reflow.cli._trace import span_tree_printer

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


def _make_view(output: str, progress: str) -> RunView:
    """``progress``: ``auto`` (a live table in a terminal, else a summary), ``quiet`` (none),
    ``verbose`` (a line per step change)."""
    if output == "json":
        return QuietView(Console(stderr=True), Console(stderr=True))
    console = Console(highlight=False, soft_wrap=True)
    if progress == "quiet":
        return QuietView(console)
    if progress == "verbose":
        return LineView(console)
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveView(console)
    return SummaryView(console)


def progress_options(func: F) -> F:
    """``--quiet`` / ``--verbose``: how much progress ``reflow run`` shows."""
    func = click.option(
        "--verbose",
        "-v",
        "progress",
        flag_value="verbose",
        help="A line per step start and end (a log of everything the run did).",
    )(func)
    return click.option(
        "--quiet",
        "-q",
        "progress",
        flag_value="quiet",
        default="auto",
        help="No progress: only questions and the result.",
    )(func)


async def _attachment(runtime: Any, run_id: str | None, detach: bool) -> Attachment:
    from reflow.durable._queries import Lookup, OpenQuestions

    journal = runtime.journal
    row = None if run_id is None else await journal.call(Lookup(run_id), write=False)

    async def open_questions(rid: str) -> list[int]:
        found: list[int] = await journal.call(OpenQuestions(rid), write=False)
        return found

    return Attachment(
        history=0 if row is None else row.last_event_seq,
        finished=row is not None and row.finished,
        open_questions=open_questions,
        can_wait=True,
        detach=detach,
    )


async def _drive_durably(
    workflow: Workflow,
    db_path: str,
    kwargs: dict[str, Any],
    view: RunView,
    detach: bool,
    target: str | None,
    schema: str = DEFAULT_SCHEMA,
) -> RunOutcome:
    from reflow.durable import JournalError
    from reflow.durable._cli import drive_durably

    async def go(runtime: Any) -> RunOutcome:
        attachment = await _attachment(runtime, kwargs.get("run_id"), detach)
        start = kwargs
        if attachment.history:
            # The run exists: it attaches, and its start arguments are ignored, so required
            # fields the resume does not repeat must not stop it from being built.
            placeholder = workflow.start_event_class.model_construct()
            start = {"run_id": kwargs["run_id"], "start_event": placeholder}
        return await drive(workflow, start, view, attachment)

    runtime = None
    if is_cluster(db_path):
        # This process joins the cluster while it follows the run (its steps without a
        # Context run on any worker); it takes over no other run.
        runtime = cluster_runtime(db_path, schema, auto_resume=False, release_idle_after=None)
    try:
        return await drive_durably(workflow, db_path, go, target, runtime)
    except JournalError as exc:
        raise UsageProblem(f"--db: {exc}") from exc


def _submit(
    workflow: Workflow, db: str, schema: str, kwargs: dict[str, Any], target: str, output: str
) -> None:
    """``reflow run --detach`` on a cluster: start the run, leave it to the workers, say how
    to follow and answer it."""
    from reflow.durable import JournalError

    runtime = cluster_runtime(db, schema, auto_resume=False)
    runtime.targets[workflow.workflow_name] = target
    try:
        run_id = asyncio.run(submit(workflow, runtime, kwargs))
    except JournalError as exc:
        raise UsageProblem(f"--db: {exc}") from exc
    document = submitted_document(run_id, workflow.workflow_name, db, schema)
    if output == "json":
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print_submitted(document)


def execute(
    target: str,
    kwargs: dict[str, Any] | None,
    args: tuple[str, ...],
    json_text: str | None,
    run_id: str | None,
    timeout: float | None,
    output: str,
    db_path: str,
    memory: bool,
    detach: bool,
    progress: str = "auto",
    schema: str = DEFAULT_SCHEMA,
) -> None:
    """``reflow run`` and ``reflow runs resume``: run (or resume), report, set the exit code."""
    loaded = load_target(target)
    workflow = build_workflow(loaded, timeout)
    if timeout is not None and isinstance(loaded, Workflow):
        # An instance gets it too (this process only), so every timeout is the run's own:
        # it ends ``timed_out`` in the journal, whatever the target named.
        workflow._timeout = timeout
    if kwargs is None:
        kwargs = parse_start_kwargs(args, json_text, _declared_fields(workflow))
    if run_id is not None:
        kwargs["run_id"] = run_id
    if detach and memory:
        raise UsageProblem("--detach needs a journal: an in-memory run cannot wait for later")
    if detach and is_cluster(db_path):
        _submit(workflow, db_path, schema, kwargs, target_for_journal(target), output)
        return
    view = _make_view(output, progress)
    try:
        if memory:
            outcome = asyncio.run(drive(workflow, kwargs, view))
        else:
            stored = target_for_journal(target)
            outcome = asyncio.run(
                _drive_durably(workflow, db_path, kwargs, view, detach, stored, schema)
            )
    except KeyboardInterrupt:
        view.finish()
        if memory or view.run_id is None:
            raise Interrupted() from None
        raise Interrupted(
            f"run {view.run_id} stays in {db_path} as it was; continue it with: "
            f"{resume_command(view.run_id, db_path, schema)}"
        ) from None
    if output == "json":
        document = json_document(outcome, None if memory else db_path, schema)
        click.echo(json.dumps(document, indent=2, ensure_ascii=False))
    elif outcome.waiting is not None:
        print_waiting(outcome, db_path, schema)
    elif outcome.error is None:
        print_text_result(outcome)
    if outcome.error is not None:
        raise RunFailed(failure_message(outcome)) from outcome.error


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
    "--resume",
    "resume_id",
    metavar="ID",
    help="Resume the run ID of the journal (the same as --run-id ID of an existing run).",
)
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
    help="The journal the run is kept in (see `reflow runs`): a SQLite file, or a "
    "postgresql:// URL to run it on a DBOSRuntime cluster (see `reflow worker`); --run-id of an "
    "unfinished run resumes it, of a finished one shows its result.",
)
@click.option(
    "--schema",
    default=DEFAULT_SCHEMA,
    show_default=True,
    envvar="REFLOW_SCHEMA",
    help="With --db postgresql://...: the schema of the cluster's journal.",
)
@click.option("--memory", is_flag=True, help="Run in memory only: nothing is journaled.")
@click.option(
    "--detach",
    is_flag=True,
    help="Do not ask questions here: at the first question the run is left waiting, and the "
    "commands that answer and follow it are printed. On a cluster (--db postgresql://...): "
    "submit the run to the workers and print its id and those commands at once.",
)
@click.option(
    "--trace",
    is_flag=True,
    help="Print the run's span tree (steps, waits, retries, with durations) when it ends; "
    "needs opentelemetry-sdk.",
)
@progress_options
@debug_option
def run_command(
    target: str,
    args: tuple[str, ...],
    json_text: str | None,
    run_id: str | None,
    resume_id: str | None,
    timeout: float | None,
    output: str,
    db_path: str,
    schema: str,
    memory: bool,
    detach: bool,
    trace: bool,
    progress: str,
) -> None:
    """Run the workflow TARGET and print its result.

    TARGET is module:attr or path/to/file.py:attr, naming a Workflow class or instance. In a
    terminal, steps and streamed events are shown as they happen (a table redrawn ten times a
    second); elsewhere, streamed events and failures, then a summary of the steps. When the
    workflow asks for input (InputRequiredEvent), the question is asked here and the answer is
    sent back as a HumanResponseEvent(response=...). The run is journaled in --db unless
    --memory is given.

    When a question cannot be answered here (standard input is closed, or --detach), the run
    stays waiting in the journal, and the commands that answer it (`reflow runs send`) and
    continue it (`reflow runs resume`) are printed.

    Exit codes: 0 success, or the run waits for an answer; 1 the run failed; 2 bad usage or
    an invalid workflow; 130 interrupted (a journaled run can be resumed).
    """
    if resume_id is not None:
        if run_id is not None and run_id != resume_id:
            raise UsageProblem("--resume and --run-id name different runs")
        run_id = resume_id
    with span_tree_printer(trace, output):
        execute(
            target,
            None,
            args,
            json_text,
            run_id,
            timeout,
            output,
            db_path,
            memory,
            detach,
            progress,
            schema,
        )
