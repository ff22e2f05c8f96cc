"""GET /dashboard: the dashboard page for ministries, provinces and MOHA (gateway/static/dashboard).

Static files in the package, no build step and nothing from another host: it works on a closed
government network. The page signs in at /auth/token and reads only through the public GraphQL API.
"""

from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from gateway.errors import json_error

FILES: Final = Path(__file__).parent / "static" / "dashboard"
# The files it serves, and their types: nothing else under the folder is reachable.
_ASSETS: Final = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
# A new gateway version may change the page and its script together: browsers check before reusing them.
_HEADERS: Final = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


async def _page(_: Request) -> Response:
    return FileResponse(FILES / "index.html", media_type="text/html; charset=utf-8", headers=_HEADERS)


async def _asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _ASSETS:
        return json_error(f"No dashboard file '{name[:40]}'", "NOT_FOUND")
    return FileResponse(FILES / name, media_type=_ASSETS[name], headers=_HEADERS)


def dashboard_routes() -> list[Route]:
    return [
        Route("/dashboard", _page, methods=["GET"]),
        Route("/dashboard/{name}", _asset, methods=["GET"]),
    ]
