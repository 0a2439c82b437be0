"""``reflow serve FILE[:NAME]``: workflows as a web service on the durable journal."""

from __future__ import annotations

from typing import Any

import click


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
def serve_command(
    target: str, host: str, port: int, db: str, schema: str, token: str | None
) -> None:
    """Serve the WorkflowServer in FILE, or every workflow FILE defines.

    NAME picks a WorkflowServer or a workflow in the file.  Runs are durable: stop the server
    (Ctrl-C, SIGTERM) and start it again, and unfinished runs continue.  See docs/serving.md.
    """
    try:
        from reflow.server import SqliteWorkflowStore
        from reflow.server._auth import BearerAuth
        from reflow.server._loading import ServeTargetError, load_server
        from reflow.server._serving import run_uvicorn
    except ImportError as exc:  # the server extra is not installed
        raise click.ClickException(
            f"reflow serve needs the server extra (pip install 'reflow[server]'): {exc}"
        ) from exc
    options: dict[str, Any] = {"auth_token": token}
    if db.startswith(("postgresql://", "postgres://")):
        from reflow.cli._worker import cluster_runtime

        options["runtime"] = cluster_runtime(db, schema)
        make_store: Any = lambda: None  # noqa: E731 - the journal is the only record
    else:
        make_store = lambda: SqliteWorkflowStore(db)  # noqa: E731
    try:
        server = load_server(target, make_store, **options)
    except ServeTargetError as exc:
        raise click.ClickException(str(exc)) from exc
    app: Any = server.app
    if token and server.auth_token != token:  # the file's own server: guard it with the token
        app = BearerAuth(app, token)
    click.echo(f"Serving {', '.join(server.get_workflows())} on http://{host}:{port}", err=True)
    run_uvicorn(app, host, port)
