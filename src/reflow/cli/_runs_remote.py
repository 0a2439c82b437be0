"""``reflow runs ... --url http://host:port``: the same commands on a server's runs.

Each command talks to a ``WorkflowServer`` through ``reflow.client.WorkflowClient`` and prints
what the journal-file command prints, in the same shapes (text and ``--output json``), from
the server's handlers and event envelopes.  What only a journal knows (ticks, the process
holding a run, undelivered events) is left out.  Every failure to talk to the server is one
``Error:`` line: unreachable, a refused token (401), an unknown run (404).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

import click

from reflow.cli._errors import CliError, UsageProblem
from reflow.cli._format import short_type_name

T = TypeVar("T")

# Without --follow, a running run's stream is read until it has been quiet this long: the
# server has then sent every event it had stored.
CAUGHT_UP_SECONDS = 0.5
_STATUS_ALIASES = {"completed": "completed", "failed": "failed", "cancelled": "cancelled"}


def _epoch(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def _problem(url: str, exc: BaseException, run_id: str | None = None) -> CliError:
    """One clear line for what went wrong talking to ``url``."""
    import httpx

    if isinstance(exc, httpx.HTTPStatusError):
        code = exc.response.status_code
        if code == 401:
            return CliError(f"the server at {url} refused the request: missing or wrong --token")
        if code == 404 and run_id is not None:
            return CliError(f"no run {run_id!r} at {url}")
        detail = _detail(exc.response)
        return CliError(f"the server at {url} answered {code}: {detail}")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return UsageProblem(f"--url {url!r} is not an http(s) URL: {exc}")
    if isinstance(exc, httpx.TransportError):
        reason = str(exc) or type(exc).__name__
        return CliError(f"cannot reach the server at {url}: {reason}")
    if isinstance(exc, ValueError) and str(exc) == "Handler not found" and run_id is not None:
        return CliError(f"no run {run_id!r} at {url}")
    return CliError(f"talking to the server at {url}: {exc}")


def _detail(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return str(response.text[:200])
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:200]


@asynccontextmanager
async def _client(url: str, token: str | None) -> AsyncIterator[Any]:
    try:
        from reflow.client import WorkflowClient
    except ImportError as exc:
        raise UsageProblem(
            f"--url needs the server extra (pip install 'reflow[server]'): {exc}"
        ) from exc
    try:
        client = WorkflowClient(base_url=url, token=token)
    except Exception as exc:
        raise _problem(url, exc) from exc
    try:
        yield client
    finally:
        await client.aclose()


def remote(
    ctx: click.Context,
    call: Callable[[Any], Awaitable[T]],
    run_id: str | None = None,
) -> T:
    """Run ``call(client)`` against the server ``--url`` names; failures become CliErrors."""
    url, token = ctx.obj["url"], ctx.obj.get("token")

    async def main() -> T:
        async with _client(url, token) as client:
            return await call(client)

    try:
        return asyncio.run(main())
    except CliError:
        raise
    except Exception as exc:
        raise _problem(url, exc, run_id) from exc


async def handler_of(client: Any, run_id: str) -> Any:
    """The handler of ``run_id``; a failed run's handler comes with a 500, which is no error."""
    import httpx

    from reflow.client import HandlerData

    try:
        return await client.get_handler(run_id)
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 500:
            try:
                return HandlerData.model_validate(exc.response.json())
            except ValueError:
                pass
        raise


async def handler_with_artifacts(client: Any, run_id: str) -> dict[str, Any]:
    """``handler_document`` plus the run's artifacts (none from a server without the route)."""
    import httpx

    document = handler_document(await handler_of(client, run_id))
    try:
        found = await client.list_artifacts(run_id)
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code != 404:  # the peer's server has no artifacts route
            raise
        document["artifacts"] = []
    else:
        document["artifacts"] = [item.model_dump() for item in found.artifacts]
    return document


def handler_document(handler: Any) -> dict[str, Any]:
    """A handler in the shape of ``reflow runs show --output json`` on a journal."""
    document: dict[str, Any] = {
        "run_id": handler.handler_id,
        "workflow": handler.workflow_name,
        "status": handler.status,
        "created_at": _epoch(handler.started_at),
        "updated_at": _epoch(handler.updated_at),
        "finished_at": _epoch(handler.completed_at),
    }
    if handler.result is not None:
        value = handler.result.value
        if handler.result.type == "StopEvent" and isinstance(value, dict):
            document["result"] = value.get("result")
        else:
            document["result_type"] = handler.result.type
            document["result"] = value
    if handler.status == "failed":
        kind, _, message = (handler.error or "").partition(": ")
        if not message or " " in kind:
            kind, message = "error", handler.error or ""
        document["error"] = {"type": kind, "message": message, "step": None}
    return document


async def list_documents(
    client: Any, statuses: tuple[str, ...], workflows: tuple[str, ...], limit: int | None
) -> list[dict[str, Any]]:
    wanted = [_STATUS_ALIASES.get(s, s) for s in statuses] or None
    found = await client.get_handlers(status=wanted, workflow_name=list(workflows) or None)
    documents = [handler_document(handler) for handler in found.handlers]
    documents.sort(key=lambda d: d["created_at"] or 0.0, reverse=True)
    return documents[:limit] if limit is not None else documents


async def read_events(
    client: Any, run_id: str, after: int, follow: bool, emit: Callable[[int, str, Any], None]
) -> None:
    """Emit ``(seq, type, fields)`` for each event after ``after``, numbered from 1."""
    handler = await handler_of(client, run_id)
    finished = handler.status != "running"
    # The wire numbers a run's events from 0; the journal (and so the CLI) from 1.
    stream = client.get_workflow_events(
        run_id, include_internal_events=True, after_sequence=after - 1
    )
    events = stream.__aiter__()
    seq = after
    try:
        while True:
            try:
                if follow or finished:
                    envelope = await events.__anext__()
                else:
                    envelope = await asyncio.wait_for(events.__anext__(), CAUGHT_UP_SECONDS)
            except (StopAsyncIteration, asyncio.TimeoutError):
                return
            seq = stream.last_sequence + 1 if stream.last_sequence is not None else seq + 1
            emit(seq, envelope.type, _fields(envelope.type, envelope.value))
    finally:
        await stream.aclose()


def _fields(kind: str, value: Any) -> Any:
    """Fields as the journal command shows them (event classes by short name)."""
    if kind == "StepStateChanged" and isinstance(value, dict):
        value = dict(value)
        for key in ("input_event_name", "output_event_name"):
            if isinstance(value.get(key), str):
                value[key] = short_type_name(value[key])
    return value


async def cancel_running(client: Any, run_id: str) -> None:
    handler = await handler_of(client, run_id)
    if handler.status != "running":
        raise CliError(f"run {run_id} has already ended; the cancellation was not sent")
    await client.cancel_handler(run_id)


def send_envelope(fields: dict[str, Any]) -> dict[str, Any]:
    """``--event`` JSON (``type`` a class or dotted name) as the server's event envelope."""
    kind = fields.pop("type", "HumanResponseEvent")
    if not isinstance(kind, str):
        raise UsageProblem(f'--event: "type" must be a string, got {kind!r}')
    envelope: dict[str, Any] = {"type": kind.rsplit(".", 1)[-1], "value": fields}
    if "." in kind and not kind.startswith("reflow."):
        envelope["qualified_name"] = kind
    return envelope


def refused_as_finished(exc: BaseException) -> bool:
    import httpx

    return isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code == 409


def steer(ctx: click.Context, run_id: str, what: str, call: Any) -> None:
    """Send (or cancel) through ``call``; a 409 means the run has ended."""
    try:
        remote(ctx, call, run_id)
    except CliError as exc:
        if refused_as_finished(exc.__cause__ or exc):
            raise CliError(f"run {run_id} has already ended; the {what} was not sent") from exc
        raise
    click.echo(
        f"run {run_id} cancelled" if what == "cancellation" else f"event sent to run {run_id}"
    )


__all__ = [
    "cancel_running",
    "handler_document",
    "handler_of",
    "handler_with_artifacts",
    "list_documents",
    "read_events",
    "refused_as_finished",
    "remote",
    "send_envelope",
    "steer",
]
