"""``reflow worker FILE[:NAME] --db postgresql://...``: one process of a DBOSRuntime cluster.

A worker registers the workflows of its targets and serves the cluster's journal until it is
stopped: it takes over the runs of processes that died, loads released runs when their event
or timer is due, and delivers events sent from other processes.  SIGTERM or Ctrl-C hands the
runs it holds back to the cluster (the next worker continues them at once).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal

import click

from reflow.cli._cluster import cluster_runtime
from reflow.cli._errors import UsageProblem, one_line
from reflow.cli._targets import build_workflow, load_target, target_for_journal


async def serve(
    targets: tuple[str, ...], db: str, schema: str, concurrency: int | None, lease_seconds: float
) -> None:
    runtime = cluster_runtime(db, schema, concurrency, lease_seconds)
    names = []
    for target in targets:
        workflow = build_workflow(load_target(target))
        workflow._switch_runtime(runtime)
        runtime.targets[workflow.workflow_name] = target_for_journal(target)
        names.append(workflow.workflow_name)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await runtime.launch()
    except Exception as exc:
        raise UsageProblem(f"--db: {one_line(exc)}") from exc
    click.echo(f"worker ready: {', '.join(names)} on {runtime.path}", err=True)
    try:
        await stop.wait()
    finally:
        await runtime.destroy()
        click.echo("worker stopped; its runs continue on the other workers", err=True)


@click.command("worker")
@click.argument("targets", metavar="FILE[:NAME]...", nargs=-1, required=True)
@click.option("--db", required=True, help="The cluster's PostgreSQL: postgresql://HOST/DB.")
@click.option(
    "--schema",
    default="reflow",
    show_default=True,
    help="The PostgreSQL schema the cluster's journal lives in.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1),
    default=None,
    help="Step executions one process runs at once, per step (a cluster-wide setting).",
)
@click.option(
    "--lease-seconds",
    type=click.FloatRange(0.1),
    default=15.0,
    show_default=True,
    help="How long a silent process keeps its runs and steps before others take them over.",
)
def worker_command(
    targets: tuple[str, ...],
    db: str,
    schema: str,
    concurrency: int | None,
    lease_seconds: float,
) -> None:
    """Serve the runs of the workflows in FILE on a DBOSRuntime cluster until stopped.

    Every worker and every process that launches a DBOSRuntime on the same --db and --schema
    shares the runs.  See docs/distributed.md.
    """
    asyncio.run(serve(targets, db, schema, concurrency, lease_seconds))
