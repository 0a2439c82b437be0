"""Artifacts: files a step publishes, stored per run and step under one root directory.

Every path is relative to its step's directory; an absolute path, a ``..`` that climbs out,
or a symlink that leads outside the root is refused with ``ArtifactPathError``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast


class ArtifactPathError(ValueError):
    """An artifact path that is empty, absolute, or escapes its root."""


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    path: str
    size: int
    modified_at: float


def _safe_part(value: str, what: str) -> str:
    if not value or value in (".", "..") or "/" in value or "\0" in value:
        raise ArtifactPathError(f"artifact {what} {value!r} is not a plain name")
    return value


class ArtifactStore:
    """The artifacts of one run's step (``root/<run_id>/<step>/...``) on the local disk."""

    def __init__(self, root: str | os.PathLike[str], run_id: str, step: str) -> None:
        self.root = Path(root)
        self.run_id = run_id
        self.step = step
        self.base = self.root / _safe_part(run_id, "run id") / _safe_part(step, "step")

    def _resolve(self, path: str | os.PathLike[str]) -> Path:
        text = os.fspath(path)
        if not isinstance(text, str) or not text or "\0" in text:
            raise ArtifactPathError(f"artifact path {text!r} is empty or invalid")
        pure = PurePosixPath(text)
        if pure.is_absolute():
            raise ArtifactPathError(f"artifact path {text!r} is absolute; use a relative path")
        target = self.base.joinpath(*pure.parts)
        base = self.base.resolve()
        resolved = target.resolve()
        if resolved != base and base not in resolved.parents:
            raise ArtifactPathError(f"artifact path {text!r} escapes the artifact root {base}")
        return resolved

    def put(
        self, path: str | os.PathLike[str], data: bytes | str | IO[bytes] | Iterable[bytes]
    ) -> ArtifactInfo:
        """Write ``data`` (bytes, text, a binary file object or an iterable of chunks)."""
        target = self._resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        with open(partial, "wb") as handle:
            if isinstance(data, str):
                handle.write(data.encode("utf-8"))
            elif isinstance(data, (bytes, bytearray, memoryview)):
                handle.write(data)
            elif hasattr(data, "read"):
                shutil.copyfileobj(cast("IO[bytes]", data), handle)
            else:
                for chunk in data:
                    handle.write(chunk)
        os.replace(partial, target)  # readers never see a half-written artifact
        return self._info(target)

    def get(self, path: str | os.PathLike[str]) -> bytes:
        return self._resolve(path).read_bytes()

    def open(self, path: str | os.PathLike[str], mode: str = "rb") -> IO[Any]:
        """Open an artifact; a write mode creates its directories."""
        target = self._resolve(path)
        if any(flag in mode for flag in "wax+"):
            target.parent.mkdir(parents=True, exist_ok=True)
        return open(target, mode)

    def path(self, path: str | os.PathLike[str]) -> Path:
        """The absolute location of an artifact (checked), for tools that write files."""
        target = self._resolve(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def list(self, prefix: str = "") -> list[ArtifactInfo]:
        """Every artifact under ``prefix``, sorted by path."""
        start = self._resolve(prefix) if prefix else self.base
        if not start.exists():
            return []
        if start.is_file():
            return [self._info(start)]
        found = [
            self._info(Path(folder) / name)
            for folder, _, names in os.walk(start)
            for name in names
            if not name.endswith(".partial")
        ]
        return sorted(found, key=lambda info: info.path)

    def _info(self, target: Path) -> ArtifactInfo:
        stat = target.stat()
        relative = target.relative_to(self.base.resolve()).as_posix()
        return ArtifactInfo(path=relative, size=stat.st_size, modified_at=stat.st_mtime)


def run_artifacts(root: str | os.PathLike[str], run_id: str) -> dict[str, list[ArtifactInfo]]:
    """Every artifact of a run, by step (steps in name order)."""
    base = Path(root) / _safe_part(run_id, "run id")
    if not base.is_dir():
        return {}
    return {
        step.name: ArtifactStore(root, run_id, step.name).list()
        for step in sorted(base.iterdir(), key=lambda path: path.name)
        if step.is_dir()
    }


async def prune_artifacts(root: str | os.PathLike[str], runtime: Any) -> list[str]:
    """Delete the artifacts of runs ``runtime``'s journal no longer holds; returns their ids.

    Call it after ``await runtime.prune(...)``. The root must belong to that journal alone
    (the default root, next to the journal, does): any other run's folder is deleted too.
    """
    folder = Path(root)
    if not folder.is_dir():
        return []
    known = {info.run_id for info in await runtime.list_runs()}
    removed = []
    for entry in sorted(folder.iterdir(), key=lambda path: path.name):
        if entry.is_dir() and entry.name not in known:
            shutil.rmtree(entry)
            removed.append(entry.name)
    return removed
