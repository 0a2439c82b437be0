"""``reflow runs`` on a journal file: a run's document, its events as stored, and what a send
or a cancellation did (the ``--url`` counterparts are in ``_runs_remote``)."""

from __future__ import annotations

import json
from typing import Any

import click

from reflow.cli._artifacts import artifact_documents, artifacts_root
from reflow.cli._errors import CliError
from reflow.cli._format import short_type_name
from reflow.cli._report import resume_command, short_name, stored_outcome_document
from reflow.cli._runs_options import open_journal
from reflow.durable._cli import JournalFile
from reflow.durable._queries import RunRow


def row_document(journal: JournalFile, row: RunRow, db: str, schema: str) -> dict[str, Any]:
    holder = journal.holder(row)
    document: dict[str, Any] = {
        "run_id": row.run_id,
        "workflow": row.workflow,
        "status": row.status,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "finished_at": row.finished_at,
        "waiting_on": [short_name(name) for name in row.waiting_on],
        "held_by": None
        if holder is None
        else {"pid": holder.pid, "host": holder.host, "alive": holder.alive, "why": holder.why},
        "orphaned": holder is not None and not holder.alive,
        "ticks": row.last_seq,
        "events": row.last_event_seq,
    }
    if holder is not None and not holder.alive:
        document["resume_with"] = resume_command(row.run_id, db, schema)
    if row.outcome is not None:
        document.update(stored_outcome_document(row.outcome))
    return document


def event_text(body: Any) -> tuple[str, Any]:
    """(type name, fields) of an event as stored."""
    if isinstance(body, dict) and "__step_state" in body:
        name, state, worker, input_name, output_name = body["__step_state"]
        fields = {"name": name, "step_state": state, "worker_id": worker}
        fields.update(
            {
                "input_event_name": short_type_name(input_name),
                "output_event_name": short_type_name(output_name),
            }
        )
        return "StepStateChanged", fields
    if isinstance(body, dict) and "qualified_name" in body:
        value = body.get("value")
        if isinstance(value, dict) and isinstance(value.get("_data"), dict):
            # Fields an event was given without declaring them: shown like declared ones.
            value = {**value["_data"], **{k: v for k, v in value.items() if k != "_data"}}
        return str(body["qualified_name"]).rsplit(".", 1)[-1], value
    return "event", body


def local_show(ctx: click.Context, run_id: str) -> dict[str, Any]:
    db = ctx.obj["db"]
    with open_journal(ctx) as journal:
        row = journal.run(run_id)
        if row is None:
            raise CliError(f"no run {run_id!r} in {db}")
        document = row_document(journal, row, db, ctx.obj["schema"])
        undelivered = journal.undelivered(run_id)
        in_flight = journal.in_flight(run_id) if document["orphaned"] else []
    document["undelivered"] = [
        {"at": at, "event": event_text(json.loads(body).get("event"))[0], "reason": reason}
        for _, at, body, reason in undelivered
    ]
    if in_flight:
        document["in_flight"] = in_flight
    root = artifacts_root(db, ctx.obj.get("artifacts_root"))
    document["artifacts"] = [] if root is None else artifact_documents(root, run_id)
    return document


def warn_if_orphaned(journal: JournalFile, run_id: str, db: str, schema: str) -> bool:
    """Say on stderr, once, that a followed run will not move until someone resumes it."""
    row = journal.run(run_id)
    holder = None if row is None else journal.holder(row)
    if holder is None or holder.alive:
        return False
    click.echo(
        f"run {run_id} is orphaned ({holder.why}): nothing happens until it is resumed: "
        f"{resume_command(run_id, db, schema)}",
        err=True,
    )
    return True


def report_sent(run_id: str, delivered: str, workflow: str, what: str) -> None:
    if delivered == "finished":
        raise CliError(f"run {run_id} has already ended; the {what} was not sent")
    if delivered == "cancelled":
        click.echo(f"run {run_id} cancelled")
        return
    click.echo(
        f"{what} queued for run {run_id}: the process driving it picks it up, or else the "
        f"next process that registers {workflow} and launches"
    )
