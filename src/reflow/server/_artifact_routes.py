"""A run's artifacts over HTTP: the list, and each file, confined to the artifact root.

    GET /handlers/{id}/artifacts                {"artifacts": [{step, path, size, modified_at}]}
    GET /handlers/{id}/artifacts/{step}/{path}  the file's bytes

Artifacts are the files steps publish with ``reflow.runners`` (``<root>/<run_id>/<step>/``).
Paths are checked by ``ArtifactStore`` itself: an absolute path, a ``..`` that climbs out or a
symlink leading outside the root is a 400, a missing file a 404.  Both routes sit behind the
bearer token like every route but ``/health``.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from reflow.server._http import ApiError
from reflow.server._runs import HandlerNotFound

if TYPE_CHECKING:
    from reflow.server._seams import ServerView

DEFAULT_ARTIFACTS_ROOT = ".reflow/artifacts"  # the runners' default without a journal
_CHUNK = 64 * 1024


def default_artifacts_root(runtime: Any) -> Path:
    """Where ``reflow.runners`` puts a runtime's artifacts: ``artifacts/`` beside its journal."""
    path = getattr(runtime, "path", None)
    if isinstance(path, str | os.PathLike) and os.fspath(path) not in ("", ":memory:"):
        return Path(os.fspath(path)).resolve().parent / "artifacts"
    return Path(DEFAULT_ARTIFACTS_ROOT).resolve()


def _chunks(handle: Any) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


class ArtifactRoutes:
    def __init__(self, server: ServerView) -> None:
        self.server = server

    def routes(self) -> list[Route]:
        base = "/handlers/{handler_id}/artifacts"
        return [
            Route(base, self.list_artifacts, methods=["GET"]),
            Route(base + "/{step}/{path:path}", self.get_artifact, methods=["GET"]),
        ]

    async def _run_id(self, handler_id: str) -> str:
        try:
            data = await self.server._runs.get(handler_id)
        except HandlerNotFound:
            raise ApiError(404, f"handler {handler_id!r} not found") from None
        return data.run_id or data.handler_id

    async def list_artifacts(self, request: Request) -> JSONResponse:
        from reflow.runners import ArtifactPathError, run_artifacts

        run_id = await self._run_id(request.path_params["handler_id"])
        try:
            by_step = run_artifacts(self.server.artifacts_root, run_id)
        except ArtifactPathError:
            by_step = {}  # a run id that cannot name a folder has no artifacts
        found = [
            {"step": step, "path": info.path, "size": info.size, "modified_at": info.modified_at}
            for step, infos in by_step.items()
            for info in infos
        ]
        return JSONResponse({"artifacts": found})

    async def get_artifact(self, request: Request) -> Response:
        from reflow.runners import ArtifactPathError, ArtifactStore

        run_id = await self._run_id(request.path_params["handler_id"])
        step, path = request.path_params["step"], request.path_params["path"]
        try:
            store = ArtifactStore(self.server.artifacts_root, run_id, step)
            handle = store.open(path, "rb")
        except ArtifactPathError as exc:
            raise ApiError(400, str(exc)) from None
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise ApiError(404, f"no artifact {path!r} of step {step!r}") from None
        kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
        return StreamingResponse(_chunks(handle), media_type=kind)
