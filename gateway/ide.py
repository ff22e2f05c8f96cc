"""GraphiQL with no internet: strawberry's page, its scripts and stylesheets served by the gateway itself.

The page is strawberry's own template with each CDN address swapped for our vendored copy
(gateway/static/graphiql/SOURCES.md), rather than a copy of the template kept here: the page's script
then follows strawberry upgrades, and an upgrade that changes an asset is refused (and fails the tests) instead of
sending browsers on a closed network to a CDN. The template's `integrity` values stay, since they are
the hashes of exactly these files: the browser checks our copies too.
"""

import os
import re
from functools import cache
from pathlib import Path
from typing import Final

from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from strawberry.http.ides import get_graphql_ide_html

IDE_ASSETS_PATH: Final = "/graphql/ide"
ASSETS_DIR: Final = Path(__file__).parent / "static" / "graphiql"
# Every path names its package's version, so an answer never goes stale.
CACHE_FOREVER: Final = "public, max-age=31536000, immutable"

# strawberry's CDN address -> our copy, relative to ASSETS_DIR.
VENDORED: Final = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": "react-18.2.0/react.production.min.js",
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": "react-dom-18.2.0/react-dom.production.min.js",
    "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": "js-cookie-3.0.5/js.cookie.min.js",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": "graphiql-3.8.3/graphiql.min.css",
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": "graphiql-3.8.3/graphiql.min.js",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": "graphiql-plugin-explorer-1.0.2/style.css",
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": "graphiql-plugin-explorer-1.0.2/index.umd.js",
}

# Set here rather than guessed: Python's own table says application/javascript on some systems.
_MEDIA_TYPES: Final = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_EXTERNAL_ASSET = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.IGNORECASE)


class _VersionedFiles(StaticFiles):
    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = CACHE_FOREVER
        if response.status_code != 304:
            response.headers["Content-Type"] = _MEDIA_TYPES.get(Path(full_path).suffix, "text/plain; charset=utf-8")
        return response


def ide_routes() -> list[BaseRoute]:
    return [Mount(IDE_ASSETS_PATH, app=_VersionedFiles(directory=ASSETS_DIR), name="graphiql-assets")]


@cache
def ide_html() -> str:
    # `get_graphql_ide_html` is what strawberry's own view renders (it reads the template and fills in
    # anything the template needs). Built on first use, so production (no IDE) never depends on it;
    # the IDE's tests build it, so a template we cannot serve offline fails `make test`.
    return _offline_page(get_graphql_ide_html(graphql_ide="graphiql"))


def _offline_page(template: str) -> str:
    for cdn_url, local in VENDORED.items():
        if template.count(f'"{cdn_url}"') != 1:
            raise RuntimeError(
                f"strawberry's GraphiQL template no longer loads '{cdn_url}' exactly once: vendor its new "
                "assets (gateway/static/graphiql/SOURCES.md) and update gateway/ide.py VENDORED"
            )
        if not (ASSETS_DIR / local).is_file():
            raise RuntimeError(f"Vendored GraphiQL asset '{ASSETS_DIR / local}' is missing")
        template = template.replace(f'"{cdn_url}"', f'"{IDE_ASSETS_PATH}/{local}"')
    if leftover := _EXTERNAL_ASSET.search(template):
        raise RuntimeError(
            f"strawberry's GraphiQL template loads an asset gateway/ide.py does not vendor, at "
            f"{template[leftover.start() : leftover.start() + 120]!r}"
        )
    return template
