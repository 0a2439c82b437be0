"""``DBOSRuntime``: durable runs whose journal is a PostgreSQL schema shared by a cluster."""

from __future__ import annotations

import os
from typing import Any

from reflow.dbos._journal import PgJournal, check_schema
from reflow.durable import DurableRuntime
from reflow.durable._journal import Durability, Journal


class DBOSRuntime(DurableRuntime):
    """Runs workflows durably on PostgreSQL: every tick is journaled in ``schema`` at ``dsn``.

    The surface and the guarantees are ``DurableRuntime``'s (docs/durable.md): write-ahead
    ticks, exact replay, published events numbered per run, runs waiting for people released
    from memory and owned by nobody, idempotent start by ``run_id``, ``ctx.idempotency_key``.
    Every process that launches a ``DBOSRuntime`` on the same database and schema with the
    workflows registered shares the runs: it resumes runs whose process died (at once on the
    same host, after ``lease_seconds`` elsewhere), delivers events sent from any process, and
    fires timers of released runs.  See docs/distributed.md.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "reflow",
        snapshot_every: int = 100,
        lease_seconds: float = 15.0,
        release_idle_after: float | None = 1.0,
        poll_interval: float = 0.1,
        auto_resume: bool = True,
    ) -> None:
        self.dsn = dsn
        self.schema = check_schema(schema)
        super().__init__(
            dsn,
            snapshot_every=snapshot_every,
            lease_seconds=lease_seconds,
            release_idle_after=release_idle_after,
            poll_interval=poll_interval,
            auto_resume=auto_resume,
        )

    def _make_journal(
        self, path: str | os.PathLike[str], durability: Durability, busy_timeout: float
    ) -> Journal:
        return PgJournal(os.fspath(path), self.schema)

    def __repr__(self) -> str:
        return f"DBOSRuntime({self.path!r})"

    @classmethod
    def _describe(cls) -> dict[str, Any]:
        return {"journal": "postgresql"}
