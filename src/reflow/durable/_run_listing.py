"""The journal's runs as a whole: ``list_runs`` (filtered, newest first, in pages) and ``prune``.

A mixin of :class:`~reflow.durable.DurableRuntime`, as ``_run_reads`` is for the reads of one
run: each method launches the runtime, then asks the journal.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from reflow.durable._info import STATUSES, RunInfo, names, prune, workflow_names
from reflow.durable._queries import ListRuns

if TYPE_CHECKING:
    from reflow.durable._journal import Journal


class RunListing:
    """``list_runs`` and ``prune`` (see docs/durable.md)."""

    journal: Journal

    if TYPE_CHECKING:

        async def launch(self) -> None: ...

    async def list_runs(
        self,
        status: str | Iterable[str] | None = None,
        workflow: str | Any | Iterable[str] | None = None,
        *,
        limit: int | None = None,
        offset: int = 0,
        id_prefix: str | None = None,
    ) -> list[RunInfo]:
        """Runs in the journal, newest first: id, workflow, status, times, what they wait on.

        ``offset`` skips that many of the newest matches (pages); ``id_prefix`` keeps the runs
        whose id starts with it.
        """
        await self.launch()
        statuses = None if status is None else names(status, "status")
        for name in statuses or ():
            if name not in STATUSES:
                raise ValueError(f"Unknown run status {name!r}; expected one of {STATUSES}")
        workflows = None if workflow is None else workflow_names(workflow)
        rows = await self.journal.call(
            ListRuns(statuses, workflows, limit, offset, id_prefix), write=False
        )
        return [RunInfo.from_row(row) for row in rows]

    async def prune(self, older_than: float | timedelta) -> int:
        """Delete runs that finished more than ``older_than`` ago; returns how many."""
        seconds = older_than.total_seconds() if isinstance(older_than, timedelta) else older_than
        if not isinstance(seconds, (int, float)) or seconds < 0:
            raise ValueError(f"older_than must be >= 0 seconds, got {older_than!r}")
        await self.launch()
        return await prune(self.journal, time.time() - seconds)
