"""``reflow runs``: the runs kept in a durable journal, from the command line.

    reflow runs list [--status S] [--workflow W]     one line per run, newest first
    reflow runs show ID                              a run's times, state, result or error
    reflow runs events ID [--after N] [--follow]     its published events, numbered
    reflow runs send ID --event JSON [--step NAME]   send it an event
    reflow runs cancel ID                            cancel it
    reflow runs prune --older-than 7d                delete runs that finished long ago

None of them imports workflow code: events are shown as stored.  An event sent to (or a
cancellation of) a run that a process is driving reaches it through the journal's inbox; a run
no process holds is cancelled at once, and gets its events when a process that registered its
workflow picks it up.
"""

from __future__ import annotations

import json
import time
from typing import Any

import click

from reflow.cli._artifacts import artifacts_root, prune_orphaned_artifacts
from reflow.cli._cluster import forget_step_records, is_cluster
from reflow.cli._errors import CliError, UsageProblem, debug_option
from reflow.cli._run import execute, progress_options
from reflow.cli._runs_document import print_document, when
from reflow.cli._runs_local import (
    event_text,
    local_show,
    report_sent,
    row_document,
    warn_if_orphaned,
)
from reflow.cli._runs_options import (
    DB_OPTION_HELP,
    SCHEMA_OPTION_HELP,
    TOKEN_OPTION_HELP,
    URL_OPTION_HELP,
    db_option,
    is_remote,
    open_journal,
    parse_duration,
)
from reflow.cli._runs_remote import (
    cancel_running,
    handler_with_artifacts,
    list_documents,
    read_events,
    remote,
    send_envelope,
    steer,
)
from reflow.durable._catalogue import SendRefused
from reflow.durable._errors import UnknownRun
from reflow.durable._info import STATUSES
from reflow.durable._ops import FINISHED


@click.group("runs")
@click.option(
    "--db", default="runs.db", envvar="REFLOW_RUNS_DB", metavar="PATH", help=DB_OPTION_HELP
)
@click.option(
    "--schema", default="reflow", envvar="REFLOW_SCHEMA", metavar="SCHEMA", help=SCHEMA_OPTION_HELP
)
@click.option(
    "--url", default=None, envvar="REFLOW_SERVER_URL", metavar="URL", help=URL_OPTION_HELP
)
@click.option(
    "--token", default=None, envvar="REFLOW_SERVER_TOKEN", metavar="TOKEN", help=TOKEN_OPTION_HELP
)
@click.option(
    "--artifacts-root",
    default=None,
    envvar="REFLOW_ARTIFACTS_ROOT",
    metavar="PATH",
    help="Where the journal's runs keep artifacts (default: artifacts/ beside the journal).",
)
@debug_option
@click.pass_context
def runs_group(
    ctx: click.Context,
    db: str,
    schema: str,
    url: str | None,
    token: str | None,
    artifacts_root: str | None,
) -> None:
    """Inspect and steer the runs kept in a durable journal (a SQLite file, or a DBOSRuntime
    cluster's PostgreSQL schema), or on a server."""
    ctx.obj = dict(db=db, schema=schema, url=url, token=token, artifacts_root=artifacts_root)


@runs_group.command("list")
@click.option("--status", "statuses", multiple=True, type=click.Choice(STATUSES))
@click.option("--workflow", "workflows", multiple=True, metavar="NAME")
@click.option("--limit", type=click.IntRange(min=1), default=None)
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
@click.pass_context
def list_command(
    ctx: click.Context,
    statuses: tuple[str, ...],
    workflows: tuple[str, ...],
    limit: int | None,
    output: str,
) -> None:
    """One line per run, newest first."""
    db = ctx.obj["db"]
    if is_remote(ctx):
        documents = remote(ctx, lambda c: list_documents(c, statuses, workflows, limit))
    else:
        with open_journal(ctx) as journal:
            rows = journal.runs(statuses or None, workflows or None, limit)
            documents = [row_document(journal, row, db, ctx.obj["schema"]) for row in rows]
    if output == "json":
        click.echo(json.dumps(documents, indent=2))
        return
    for document in documents:
        waiting = document.get("waiting_on")
        note = f"  waiting on {', '.join(waiting)}" if waiting else ""
        if document.get("orphaned"):
            note += f"  ORPHANED ({document['held_by']['why']})"
        click.echo(
            f"{document['run_id']}  {document['status']:<9}  {document['workflow']}  "
            f"{when(document['created_at'])}{note}"
        )


@runs_group.command("show")
@click.argument("run_id")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
@click.pass_context
def show_command(ctx: click.Context, run_id: str, output: str) -> None:
    """A run's workflow, status, times, what it waits on, and its result or error."""
    if is_remote(ctx):
        document = remote(ctx, lambda c: handler_with_artifacts(c, run_id), run_id)
    else:
        document = local_show(ctx, run_id)
    if output == "json":
        click.echo(json.dumps(document, indent=2))
        return
    print_document(document)


@runs_group.command("events")
@click.argument("run_id")
@click.option("--after", type=click.IntRange(min=0), default=0, help="Start after this seq.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events until the run ends.")
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@db_option
@click.pass_context
def events_command(ctx: click.Context, run_id: str, after: int, follow: bool, output: str) -> None:
    """The run's published events, numbered from 1; --after resumes from a position."""

    def emit(seq: int, name: str, fields: Any) -> None:
        if output == "json":
            click.echo(json.dumps({"seq": seq, "type": name, "event": fields}))
        else:
            click.echo(f"{seq:>6}  {name}  {json.dumps(fields)}")

    if is_remote(ctx):
        remote(ctx, lambda c: read_events(c, run_id, after, follow, emit), run_id)
        return
    warned = False
    with open_journal(ctx) as journal:
        while True:
            items, status = journal.events(run_id, after)
            if status is None:
                raise CliError(f"no run {run_id!r} in {ctx.obj['db']}")
            if follow and not items and not warned and status not in FINISHED:
                warned = warn_if_orphaned(journal, run_id, ctx.obj["db"], ctx.obj["schema"])
            for seq, body in items:
                after = seq
                emit(seq, *event_text(body))
            if not follow or (not items and status in FINISHED):
                return
            if not items:
                time.sleep(0.2)


@runs_group.command("send")
@click.argument("run_id")
@click.option(
    "--event",
    "event_json",
    required=True,
    metavar="JSON",
    help='The event: {"type": "pkg.module.EventClass", field: value, ...}; without "type", '
    'a HumanResponseEvent (e.g. {"response": "yes"}).',
)
@click.option("--step", default=None, help="Deliver it to this step only.")
@db_option
@click.pass_context
def send_command(ctx: click.Context, run_id: str, event_json: str, step: str | None) -> None:
    """Send an event to a run, wherever it is driven."""
    try:
        fields = json.loads(event_json)
    except ValueError as exc:
        raise UsageProblem(f"--event is not valid JSON: {exc}") from exc
    if not isinstance(fields, dict):
        raise UsageProblem(f"--event must be a JSON object, got {type(fields).__name__}")
    if is_remote(ctx):
        envelope = send_envelope(fields)
        steer(ctx, run_id, "event", lambda c: c.send_event(run_id, envelope, step))
        return
    kind = fields.pop("type", "reflow.events.HumanResponseEvent")
    if not isinstance(kind, str):
        raise UsageProblem(f'--event: "type" must be a string, got {kind!r}')
    event = {"__is_pydantic": True, "qualified_name": kind, "value": fields}
    with open_journal(ctx) as journal:
        try:
            sent = journal.send(run_id, event, step)
        except UnknownRun as exc:
            raise CliError(str(exc)) from exc
        except SendRefused as exc:
            raise UsageProblem(f"not sent to run {run_id}: {exc}") from exc
    report_sent(run_id, sent.delivered, sent.workflow, "event")


@runs_group.command("cancel")
@click.argument("run_id")
@db_option
@click.pass_context
def cancel_command(ctx: click.Context, run_id: str) -> None:
    """Cancel a run (it ends with WorkflowCancelledByUser)."""
    if is_remote(ctx):
        steer(ctx, run_id, "cancellation", lambda c: cancel_running(c, run_id))
        return
    with open_journal(ctx) as journal:
        try:
            sent = journal.cancel(run_id)
        except UnknownRun as exc:
            raise CliError(str(exc)) from exc
    report_sent(run_id, sent.delivered, sent.workflow, "cancellation")


@runs_group.command("resume")
@click.argument("run_id")
@click.argument("target", required=False)
@click.option("--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--detach", is_flag=True, help="Leave the run waiting at its next question, not asking it."
)
@progress_options
@db_option
@click.pass_context
def resume_command_(
    ctx: click.Context,
    run_id: str,
    target: str | None,
    output: str,
    detach: bool,
    progress: str,
) -> None:
    """Drive the run RUN_ID again here: its history, then live; its open question is asked.

    TARGET (module:attr or file.py:attr) loads the workflow; by default, the one recorded
    when the run's workflow first ran on this journal.
    """
    db = ctx.obj["db"]
    with open_journal(ctx) as journal:
        row = journal.run(run_id)
        if row is None:
            raise CliError(f"no run {run_id!r} in {db}")
        catalogue = journal.catalogue(row.workflow)
    if target is None:
        target = None if catalogue is None else catalogue.target
        if target is None:
            raise UsageProblem(
                f"the journal does not say where workflow {row.workflow} is defined; "
                f"give its TARGET: reflow runs resume {run_id} path/to/file.py:Name"
            )
    schema = ctx.obj["schema"]
    execute(target, {}, (), None, run_id, None, output, db, False, detach, progress, schema)


@runs_group.command("prune")
@click.option("--older-than", "older_than", required=True, metavar="DURATION")
@db_option
@click.pass_context
def prune_command(ctx: click.Context, older_than: str) -> None:
    """Delete runs that finished more than DURATION ago (90s, 15m, 12h, 7d, 2w)."""
    seconds = parse_duration(older_than)
    with open_journal(ctx) as journal:
        count = journal.prune(seconds)
        kept = [row.run_id for row in journal.runs()]
    if is_cluster(ctx.obj["db"]):
        forget_step_records(ctx.obj["db"], ctx.obj["schema"])
    root = artifacts_root(ctx.obj["db"], ctx.obj.get("artifacts_root"))
    removed = [] if root is None else prune_orphaned_artifacts(root, kept)
    note = f" and the artifacts of {len(removed)}" if removed else ""
    click.echo(f"pruned {count} run{'s' if count != 1 else ''}{note}")


__all__ = ["parse_duration", "runs_group"]
