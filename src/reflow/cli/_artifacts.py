"""A journal's artifacts for ``reflow runs``: listed by ``show``, removed by ``prune``.

Artifacts are the files steps publish with ``reflow.runners``, in ``<root>/<run_id>/<step>/``;
the root is ``artifacts/`` beside the journal unless ``--artifacts-root`` (or
``$REFLOW_ARTIFACTS_ROOT``) names another, as ``Runners(artifacts_root=...)`` did.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click


def artifacts_root(db: str, given: str | None) -> Path | None:
    """Where the journal's runs keep artifacts; for a cluster (a postgresql:// URL), only
    where ``given`` says: a URL has no folder beside it, and pruning must not guess one."""
    if given:
        return Path(given).resolve()
    if db.startswith(("postgresql://", "postgres://")):
        return None
    return Path(os.fspath(db)).resolve().parent / "artifacts"


def artifact_documents(root: Path, run_id: str) -> list[dict[str, Any]]:
    """``[{step, path, size, modified_at}]``, by step then path (the server's shape)."""
    from reflow.runners import ArtifactPathError, run_artifacts

    try:
        by_step = run_artifacts(root, run_id)
    except ArtifactPathError:
        return []  # a run id that cannot name a folder has none
    return [
        {"step": step, "path": info.path, "size": info.size, "modified_at": info.modified_at}
        for step, infos in by_step.items()
        for info in infos
    ]


def print_artifacts(documents: list[dict[str, Any]]) -> None:
    if documents:
        click.echo("artifacts:")
    for item in documents:
        click.echo(f"  {item['step']}/{item['path']}  {item['size']} bytes")


class _KnownRuns:
    """What ``prune_artifacts`` asks a runtime for: the runs its journal still holds."""

    def __init__(self, run_ids: list[str]) -> None:
        self._run_ids = run_ids

    async def list_runs(self) -> list[Any]:
        return [_Run(run_id) for run_id in self._run_ids]


class _Run:
    def __init__(self, run_id: str) -> None:
        self.run_id = run_id


def prune_orphaned_artifacts(root: Path, kept_run_ids: list[str]) -> list[str]:
    """Delete the artifact folders of runs the journal no longer holds; their run ids."""
    from reflow.runners import prune_artifacts

    # The coroutine never suspends (the run ids are at hand), so it is driven here directly:
    # the command may be invoked from code that already runs an event loop.
    coroutine = prune_artifacts(root, _KnownRuns(kept_run_ids))
    try:
        coroutine.send(None)
    except StopIteration as done:
        removed: list[str] = done.value
        return removed
    coroutine.close()
    raise RuntimeError("prune_artifacts waited on something; it was expected not to")


__all__ = ["artifact_documents", "artifacts_root", "print_artifacts", "prune_orphaned_artifacts"]
