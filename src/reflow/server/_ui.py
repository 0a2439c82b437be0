"""The routes of the web UI: its static files at ``/`` and ``/ui/``, and workflow drawings.

The UI is plain HTML, CSS and JavaScript modules shipped in ``reflow/server/ui``; it talks to
the server only through the public HTTP and WebSocket API.  Its files hold no data, so they are
served without the bearer token (the page asks for the token and sends it with every call).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from reflow.server._http import ApiError

if TYPE_CHECKING:
    from reflow.server._seams import ServerView

UI_DIRECTORY = Path(__file__).with_name("ui")
UI_PREFIX = "/ui/"


def drawing_route(server: ServerView) -> Route:
    """``GET /workflows/{name}/drawing``: the workflow's graph as SVG (reflow's own layout)."""

    async def drawing(request: Request) -> Response:
        from reflow.drawing import workflow_svg

        name = request.path_params["name"]
        workflow = server.get_workflows().get(name)
        if workflow is None:
            raise ApiError(404, f"workflow {name!r} not found")
        return Response(workflow_svg(workflow), media_type="image/svg+xml")

    return Route("/workflows/{name}/drawing", drawing, methods=["GET"])


def ui_routes() -> list[BaseRoute]:
    """``/`` (the page) and ``/ui/...`` (its scripts and styles)."""

    async def index(request: Request) -> Response:
        return FileResponse(UI_DIRECTORY / "index.html", headers={"Cache-Control": "no-cache"})

    return [
        Route("/", index, methods=["GET"]),
        Mount(UI_PREFIX.rstrip("/"), StaticFiles(directory=UI_DIRECTORY), name="ui"),
    ]
