"""``reflow flow``: validate, run, develop and dead-letter declarative flows (reflow.flows)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from reflow.cli._errors import CliError, InvalidWorkflow, debug_option

T = TypeVar("T")

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _redis_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option(
        "--redis",
        "redis_url",
        default="redis://127.0.0.1:6379/0",
        show_default=True,
        help="Redis for queues, the DLQ and the development cache.",
    )(func)
    return click.option("--prefix", default="", help="Prefix of every Redis key.")(func)


def _load(path: Path) -> Any:
    from reflow.flows import FlowError, load_flow

    try:
        return load_flow(path)
    except FlowError as exc:
        raise InvalidWorkflow(str(exc)) from exc


def _services(redis_url: str, prefix: str) -> Any:
    from reflow.flows import FlowServices

    return FlowServices(redis_url=redis_url, prefix=prefix)


def _run(factory: Callable[[], Awaitable[T]], services: Any) -> T:
    async def main() -> T:
        try:
            return await factory()
        finally:
            await services.aclose()

    from redis.exceptions import RedisError

    from reflow.flows import FlowError

    try:
        return asyncio.run(main())
    except FlowError as exc:
        raise CliError(str(exc)) from exc
    except (OSError, RedisError) as exc:
        raise CliError(f"Redis at {services.redis_url} failed: {exc}") from exc


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, default=str))


@click.group("flow")
def flow_group() -> None:
    """Declarative flows: JSON/YAML node graphs (see docs/flows.md)."""


@flow_group.command("validate")
@click.argument("file", type=_FILE)
@debug_option
def validate_command(file: Path) -> None:
    """Check FILE and list every problem (node id and field)."""
    flow = _load(file)
    graph = flow.graph
    producers = ", ".join(graph.producers()) or "none"
    click.echo(f"OK: {len(graph.nodes)} nodes; loops (producers): {producers}")


@flow_group.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of the flow document."""
    from reflow.flows import flow_json_schema

    _echo_json(flow_json_schema())


@flow_group.command("types")
@click.option("--json", "as_json", is_flag=True, help="Each type's config JSON Schema too.")
def types_command(as_json: bool) -> None:
    """List the node types a flow may use (kind, pool, fields)."""
    from reflow.flows import default_registry

    described = default_registry().describe()
    if as_json:
        _echo_json(described)
        return
    for entry in described:
        fields = ", ".join(entry["config_schema"].get("properties", {})) or "-"
        click.echo(f"{entry['type']:<26} {entry['kind']:<13} {fields}")


@flow_group.command("draw")
@click.argument("file", type=_FILE)
@click.option("--loop", "producer", default=None, help="Producer whose loop to draw.")
@debug_option
def draw_command(file: Path, producer: str | None) -> None:
    """Print one loop of FILE as a Mermaid flowchart (the compiled workflow)."""
    from reflow.drawing import draw_all_possible_flows_mermaid
    from reflow.flows import FlowEngine, FlowError

    try:
        workflow = FlowEngine(_load(file)).workflow(producer)
    except FlowError as exc:
        raise CliError(str(exc)) from exc
    click.echo(draw_all_possible_flows_mermaid(workflow, filename=""))


@flow_group.command("run")
@click.argument("file", type=_FILE)
@click.option("--max-iterations", type=click.IntRange(min=1), help="Per loop, then stop.")
@_redis_options
@debug_option
def run_command(file: Path, max_iterations: int | None, redis_url: str, prefix: str) -> None:
    """Run every loop of FILE until done (Ctrl-C or SIGTERM stops it cleanly)."""
    from reflow.flows import FlowEngine

    services = _services(redis_url, prefix)
    engine = FlowEngine(_load(file), services)
    engine.subscribe(_report)

    async def main() -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, engine.stop)
        stats = await engine.run_production(max_iterations=max_iterations)
        return {p: vars(s) for p, s in stats.items()}

    _echo_json(_run(main, services))


def _report(kind: str, fields: dict[str, Any]) -> None:
    if kind in ("iteration_failed", "redis_unavailable", "redis_available", "loop_completed"):
        click.echo(f"{kind}: {json.dumps(fields, default=str)}", err=True)


@flow_group.command("dev")
@click.argument("file", type=_FILE)
@click.argument("node_id")
@click.option("--session", default="default", show_default=True)
@click.option("--input", "input_json", help='Input instead of the cache: {"data": {...}}.')
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=300.0)
@click.option("--ttl", type=click.IntRange(min=1), default=3600, show_default=True)
@_redis_options
@debug_option
def dev_command(
    file: Path,
    node_id: str,
    session: str,
    input_json: str | None,
    timeout: float,
    ttl: int,
    redis_url: str,
    prefix: str,
) -> None:
    """Run NODE_ID of FILE once on its parents' cached outputs; cache its output."""
    from reflow.flows import DevSession

    given: dict[str, Any] | None = None
    if input_json is not None:
        try:
            given = json.loads(input_json)
        except ValueError as exc:
            raise CliError(f"--input is not valid JSON: {exc}") from exc
        if not isinstance(given, dict):
            raise CliError("--input must be a JSON object")
    services = _services(redis_url, prefix)
    dev = DevSession(_load(file), services, session=session, ttl=ttl)

    async def main() -> dict[str, Any]:
        result = await dev.run_node(node_id, input=given, timeout=timeout)
        return result.to_dict()

    _echo_json(_run(main, services))


@flow_group.command("dev-reset")
@click.argument("file", type=_FILE)
@click.option("--session", default="default", show_default=True)
@_redis_options
def dev_reset_command(file: Path, session: str, redis_url: str, prefix: str) -> None:
    """Forget a development session's cached outputs."""
    from reflow.flows import DevSession

    services = _services(redis_url, prefix)
    dev = DevSession(_load(file), services, session=session)
    click.echo(f"cleared {_run(dev.reset, services)} cached output(s)")


@flow_group.group("dlq")
def dlq_group() -> None:
    """The dead-letter queue of a flow: list, show, replay, purge."""


@dlq_group.command("list")
@click.argument("file", type=_FILE)
@click.option("--limit", type=click.IntRange(min=1), default=100, show_default=True)
@_redis_options
def dlq_list(file: Path, limit: int, redis_url: str, prefix: str) -> None:
    """Newest first: id, node, error."""
    from reflow.flows import FlowEngine

    services = _services(redis_url, prefix)
    engine = FlowEngine(_load(file), services)
    entries = _run(lambda: engine.dlq.list(0, limit), services)
    for entry in entries:
        click.echo(
            f"{entry['entry_id']}  {entry['timestamp']}  node {entry['node_id']}  "
            f"{entry['error_type']}: {entry['error_message']}"
        )
    click.echo(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}")


@dlq_group.command("show")
@click.argument("file", type=_FILE)
@click.argument("entry_id")
@_redis_options
def dlq_show(file: Path, entry_id: str, redis_url: str, prefix: str) -> None:
    """One entry in full (input data, metadata, traceback)."""
    from reflow.flows import FlowEngine

    services = _services(redis_url, prefix)
    engine = FlowEngine(_load(file), services)
    _echo_json(_run(lambda: engine.dlq.get(entry_id), services))


@dlq_group.command("replay")
@click.argument("file", type=_FILE)
@click.argument("entry_id")
@_redis_options
@debug_option
def dlq_replay(file: Path, entry_id: str, redis_url: str, prefix: str) -> None:
    """Run the entry's iteration again from its failed node; removed when it succeeds."""
    from reflow.flows import FlowEngine, NodeFailure

    services = _services(redis_url, prefix)
    engine = FlowEngine(_load(file), services, dead_letters=False)

    async def main() -> dict[str, Any]:
        try:
            return await engine.replay(entry_id)
        except NodeFailure as exc:
            raise CliError(f"replay failed; the entry stays: {exc}") from exc

    _echo_json(_run(main, services))


@dlq_group.command("purge")
@click.argument("file", type=_FILE)
@_redis_options
def dlq_purge(file: Path, redis_url: str, prefix: str) -> None:
    """Delete every entry."""
    from reflow.flows import FlowEngine

    services = _services(redis_url, prefix)
    engine = FlowEngine(_load(file), services)
    click.echo(f"purged {_run(engine.dlq.purge, services)} entr(ies)")
