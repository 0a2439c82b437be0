"""A run's document (``reflow runs show``) as text, whether from a journal or a server."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import click

from reflow.cli._artifacts import print_artifacts


def when(value: float | None) -> str:
    if value is None:
        return "-"
    return datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def print_document(document: dict[str, Any]) -> None:
    """Print the keys a document has: a server's lacks the journal's ticks and holder."""
    for key in ("run_id", "workflow", "status"):
        click.echo(f"{key}: {document[key]}")
    for key in ("created_at", "updated_at", "finished_at"):
        click.echo(f"{key}: {when(document[key])}")
    if "ticks" in document:
        click.echo(f"ticks: {document['ticks']}  events: {document['events']}")
    if document.get("waiting_on"):
        click.echo(f"waiting on: {', '.join(document['waiting_on'])}")
    holder = document.get("held_by")
    if holder is not None:
        where = f"process {holder['pid']} on {holder['host']}" if holder["pid"] else "a process"
        if holder["alive"]:
            click.echo(f"held by: {where}")
        else:
            click.echo(f"ORPHANED: held by {where}, which is dead ({holder['why']})")
            if document.get("in_flight"):
                click.echo(f"in flight when it died: {', '.join(document['in_flight'])}")
            click.echo(f"resume it: {document['resume_with']}")
    if "result" in document:
        kind = f" ({document['result_type']})" if "result_type" in document else ""
        click.echo(f"result{kind}: {json.dumps(document['result'])}")
    if "error" in document:
        error = document["error"]
        message = f": {error['message']}" if error["message"] else ""
        click.echo(f"error: {error['type']}{message}")
    for item in document.get("undelivered", ()):
        click.echo(f"undelivered {item['event']} ({when(item['at'])}): {item['reason']}")
    print_artifacts(document["artifacts"])


__all__ = ["print_document", "when"]
