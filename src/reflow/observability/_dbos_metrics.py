"""``reflow.dbos.queue.depth``: step executions waiting in each DBOS queue of the cluster.

An observable gauge, read from DBOS's ``workflow_status`` table (in the schema
``<journal>_dbos``) only when metrics are collected: two queries per collection, nothing per
step.  Every queue a process of the cluster declared reports 0 when empty, so a drained queue
reads 0 rather than disappearing.  Nothing is reported by a process without a launched
``DBOSRuntime``.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from reflow._version import __version__
from reflow.observability._attributes import DBOS_QUEUE, INSTRUMENTATION_SCOPE

QUEUE_DEPTH = "reflow.dbos.queue.depth"
logger = logging.getLogger("reflow.observability")


def queue_depths() -> dict[str, int]:
    """Queue name -> executions enqueued and not yet started (the cluster's, not only ours)."""
    module = sys.modules.get("reflow.dbos._cluster")
    cluster = None if module is None else module._cluster
    if cluster is None:
        return {}
    import psycopg

    depths = dict.fromkeys(cluster.queues, 0)
    with psycopg.connect(cluster.dsn, autocommit=True, connect_timeout=5) as conn:
        # Every queue a process of the cluster declared (DBOS keeps them in a table).
        declared = conn.execute(
            "SELECT to_regclass(%s)", (f'"{cluster.schema}_dbos".queues',)
        ).fetchone()
        if declared is not None and declared[0] is not None:
            for (name,) in conn.execute(
                f'SELECT name FROM "{cluster.schema}_dbos".queues WHERE name LIKE %s',
                ("reflow:%",),
            ):
                depths[str(name)] = 0
        rows = conn.execute(
            f'SELECT queue_name, count(*) FROM "{cluster.schema}_dbos".workflow_status'
            " WHERE status = 'ENQUEUED' AND queue_name LIKE 'reflow:%%' GROUP BY queue_name"
        ).fetchall()
    for name, count in rows:
        depths[str(name)] = int(count)
    return depths


def _observe(options: CallbackOptions) -> Iterable[Observation]:
    try:
        depths = queue_depths()
    except Exception:  # a collection must never fail because the database is away
        logger.warning("reflow: reading the DBOS queue depths failed", exc_info=True)
        return []
    return [Observation(count, {DBOS_QUEUE: name}) for name, count in sorted(depths.items())]


def make_queue_depth_gauge(provider: metrics.MeterProvider | None) -> metrics.ObservableGauge:
    meter = metrics.get_meter(INSTRUMENTATION_SCOPE, __version__, meter_provider=provider)
    return meter.create_observable_gauge(
        QUEUE_DEPTH,
        callbacks=[_observe],
        unit="{execution}",
        description="Step executions enqueued on a DBOS queue and not yet started, by queue.",
    )
