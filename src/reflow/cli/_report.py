"""How ``reflow run`` reports a run: its status, result or error, or the question it waits on.

``reflow run --output json`` and ``reflow runs show --output json`` share one shape: ``status``
in the journal's words, ``result`` (with ``result_type`` for a ``StopEvent`` subclass) or
``error`` (``type``, ``message``, ``step``).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from rich.console import Console
from rich.pretty import Pretty
from rich.text import Text

from reflow.cli._cluster import DEFAULT_SCHEMA, db_args
from reflow.cli._drive import RunOutcome
from reflow.cli._errors import one_line
from reflow.cli._format import event_fields, to_jsonable
from reflow.cli._live import format_seconds
from reflow.errors import WorkflowCancelledByUser, WorkflowTimeoutError
from reflow.events import Event, StopEvent


def print_text_result(outcome: RunOutcome) -> None:
    console = Console(highlight=False, soft_wrap=True)
    took = format_seconds(outcome.seconds)
    console.print(Text(f"✓ completed in {took}", style="bold green"))
    result = outcome.result
    if isinstance(result, Event):
        console.print(Text(type(result).__name__, style="bold"), Pretty(event_fields(result)))
    elif result is not None:
        console.print(Pretty(result) if not isinstance(result, str) else Text(result))


def failure_message(outcome: RunOutcome) -> str:
    where = f" in step {outcome.failed_step!r}" if outcome.failed_step else ""
    error = outcome.error
    detail = one_line(error) if error is not None else "unknown error"
    return f"run {outcome.run_id} failed{where}: {detail}"


def status_of(outcome: RunOutcome) -> str:
    """The run's status in the words the journal uses (see ``reflow.durable``)."""
    if outcome.waiting is not None:
        return "waiting"
    error = outcome.error
    if error is None:
        return "completed"
    if isinstance(error, WorkflowTimeoutError):
        return "timed_out"
    if isinstance(error, WorkflowCancelledByUser):
        return "cancelled"
    return "failed"


def json_document(
    outcome: RunOutcome, db_path: str | None, schema: str = DEFAULT_SCHEMA
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "run_id": outcome.run_id,
        "workflow": outcome.workflow_name,
        "status": status_of(outcome),
        "seconds": round(outcome.seconds, 3),
    }
    if outcome.waiting is not None:
        document["waiting_for"] = outcome.waiting.strip()
        if db_path is not None:
            document["answer_with"] = answer_command(outcome.run_id, db_path, schema)
            document["resume_with"] = resume_command(outcome.run_id, db_path, schema)
    elif outcome.error is None:
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


def answer_command(run_id: str, db_path: str, schema: str = DEFAULT_SCHEMA) -> str:
    """The command that answers a waiting run from any shell."""
    return (
        f"reflow runs send {shlex.quote(run_id)} {db_args(db_path, schema)} "
        """--event '{"response": "..."}'"""
    )


def resume_command(run_id: str, db_path: str, schema: str = DEFAULT_SCHEMA) -> str:
    """The command that drives a run again (and asks its open question) from any shell."""
    return f"reflow runs resume {shlex.quote(run_id)} {db_args(db_path, schema)}"


def follow_command(run_id: str, db_path: str, schema: str = DEFAULT_SCHEMA) -> str:
    """The command that prints a run's events as they come, from any shell."""
    return f"reflow runs events {shlex.quote(run_id)} {db_args(db_path, schema)} --follow"


def print_waiting(outcome: RunOutcome, db_path: str, schema: str = DEFAULT_SCHEMA) -> None:
    console = Console(highlight=False, soft_wrap=True)
    question = outcome.waiting.strip() if outcome.waiting else ""
    console.print(
        Text(f"◆ run {outcome.run_id} is waiting for an answer to {question!r}", style="bold")
    )
    console.print(Text(f"  answer it: {answer_command(outcome.run_id, db_path, schema)}"))
    console.print(Text(f"  follow it: {resume_command(outcome.run_id, db_path, schema)}"))


def submitted_document(run_id: str, workflow: str, db: str, schema: str) -> dict[str, Any]:
    """What ``reflow run --detach`` on a cluster says: the run and the commands that reach it."""
    return {
        "run_id": run_id,
        "workflow": workflow,
        "status": "submitted",
        "follow_with": follow_command(run_id, db, schema),
        "show_with": f"reflow runs show {shlex.quote(run_id)} {db_args(db, schema)}",
        "answer_with": answer_command(run_id, db, schema),
    }


def print_submitted(document: dict[str, Any]) -> None:
    console = Console(highlight=False, soft_wrap=True)
    console.print(Text(f"◆ run {document['run_id']} submitted to the cluster", style="bold"))
    console.print(Text(f"  follow it: {document['follow_with']}"))
    console.print(Text(f"  show it:   {document['show_with']}"))
    console.print(Text(f"  answer it: {document['answer_with']}"))


def short_name(name: Any) -> str:
    return str(name).rsplit(".", 1)[-1]


def stored_outcome_document(outcome: str) -> dict[str, Any]:
    """A stored result or error in the shape ``reflow run --output json`` prints."""
    data = json.loads(outcome)
    if "result" in data:
        stored = data["result"]
        if isinstance(stored, dict) and "qualified_name" in stored:
            value = stored.get("value")
            if stored["qualified_name"] == "reflow.events.StopEvent" and isinstance(value, dict):
                return {"result": value.get("result")}
            return {"result_type": short_name(stored["qualified_name"]), "result": value}
        return {"result": stored}
    error = data.get("error", {})
    return {
        "error": {
            "type": short_name(error.get("exception_type", "Exception")),
            "message": error.get("exception_message", ""),
            "step": None,
        }
    }
