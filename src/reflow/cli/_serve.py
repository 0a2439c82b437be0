"""``reflow serve FILE[:NAME]``: workflows as a web service on the durable journal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from reflow.cli._flow import _redis_options

FLOW_SUFFIXES = (".json", ".yaml", ".yml")


@click.command("serve")
@click.argument("target", metavar="FILE[:NAME]")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--db",
    default="runs.db",
    show_default=True,
    help="The SQLite journal runs are kept in (when the file defines no WorkflowServer), or a "
    "postgresql:// URL: the server joins that DBOSRuntime cluster (docs/distributed.md).",
)
@click.option(
    "--schema",
    default="reflow",
    show_default=True,
    help="With a postgresql:// --db: the schema the cluster's journal lives in.",
)
@click.option("--token", default=None, help="Require 'Authorization: Bearer TOKEN'.")
@click.option(
    "--flow",
    "flow_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A flow document (JSON/YAML) to serve under /flows too; repeatable.",
)
@click.option(
    "--metrics",
    is_flag=True,
    help="Serve GET /metrics for Prometheus (needs the prometheus extra; behind --token).",
)
@click.option(
    "--ui/--no-ui",
    default=True,
    show_default=True,
    help="Serve the web UI at / (when the file defines no WorkflowServer).",
)
@_redis_options
def serve_command(
    target: str,
    host: str,
    port: int,
    db: str,
    schema: str,
    token: str | None,
    flow_files: tuple[Path, ...],
    metrics: bool,
    ui: bool,
    redis_url: str,
    prefix: str,
) -> None:
    """Serve the WorkflowServer in FILE, or every workflow FILE defines.

    NAME picks a WorkflowServer or a workflow in the file.  Runs are durable: stop the server
    (Ctrl-C, SIGTERM) and start it again, and unfinished runs continue.  A FILE ending in
    .json, .yaml or .yml is a flow document: it is served under /flows (as is every --flow),
    on the Redis at --redis.  See docs/serving.md and docs/flows.md.
    """
    try:
        from reflow.server import SqliteWorkflowStore, WorkflowServer
        from reflow.server._auth import BearerAuth
        from reflow.server._loading import ServeTargetError, load_server
        from reflow.server._serving import run_uvicorn
    except ImportError as exc:  # the server extra is not installed
        raise click.ClickException(
            f"reflow serve needs the server extra (pip install 'reflow[server]'): {exc}"
        ) from exc
    options: dict[str, Any] = {"auth_token": token, "ui": ui}
    if metrics:
        options["metrics"] = True
    if db.startswith(("postgresql://", "postgres://")):
        from reflow.cli._cluster import cluster_runtime

        options["runtime"] = cluster_runtime(db, schema)
        make_store: Any = lambda: None  # noqa: E731 - the journal is the only record
    else:
        make_store = lambda: SqliteWorkflowStore(db)  # noqa: E731
    if target.lower().endswith(FLOW_SUFFIXES):
        flow_files = (Path(target), *flow_files)
        try:
            server = WorkflowServer(workflow_store=make_store(), **options)
        except ImportError as exc:
            raise click.ClickException(str(exc)) from exc
    else:
        try:
            server = load_server(target, make_store, **options)
        except (ServeTargetError, ImportError) as exc:
            raise click.ClickException(str(exc)) from exc
    if metrics and server.metrics is None:
        raise click.ClickException(
            f"{target} defines its own WorkflowServer: give it metrics=True there for /metrics"
        )
    if flow_files:
        from reflow.flows import FlowError, FlowServices

        server.enable_flows(FlowServices(redis_url=redis_url, prefix=prefix))
        for path in flow_files:
            try:
                server.add_flow(path)
            except (FlowError, OSError) as exc:
                raise click.ClickException(f"{path}: {exc}") from exc
    app: Any = server.app
    if token and server.auth_token != token:  # the file's own server: guard it with the token
        app = BearerAuth(app, token)
    served = [*server.get_workflows(), *(server.flows.flows if server.flows else ())]
    click.echo(f"Serving {', '.join(served)} on http://{host}:{port}", err=True)
    if server.ui:
        click.echo(f"Web UI: http://{host}:{port}/", err=True)
    run_uvicorn(app, host, port)
