"""GraphiQL with no internet: the page and everything it loads come from the gateway itself, and a real
browser that may reach nothing else runs a query in it."""

import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import httpx2
import pytest
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright
from starlette.applications import Starlette

from gateway.app import create_app
from gateway.auth import Authenticator
from gateway.config import Settings
from gateway.ide import ASSETS_DIR, CACHE_FOREVER, IDE_ASSETS_PATH
from tests.live import serving

CHROMIUM = Path("/usr/bin/chromium")
# Flags for a browser that must not phone home on its own (updates, sync, safe browsing lists).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# Names, not addresses: the `xmlns` of the inline SVG favicon is never fetched.
XML_NAMESPACES = {"http://www.w3.org/2000/svg"}

_ATTRIBUTE_URL = re.compile(r"""\b(?:src|href)\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)
_STYLE_BLOCK = re.compile(r"<style[^>]*>(.*?)</style>", re.IGNORECASE | re.DOTALL)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"]*))\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(r"""@import\s+(?:url\()?\s*["']?([^"')\s;]+)""", re.IGNORECASE)
# Any absolute address, wherever it stands (a script, a comment, an attribute): up to a quote or a `%`
# escape, enough to tell its host. `//host` without a scheme counts too.
_ABSOLUTE_URL = re.compile(r"""(?:https?|wss?|ftp)://[^\s"'<>()`%]+|(?<![:\w/])//[a-z0-9-]+(?:\.[a-z0-9-]+)+""", re.I)


@dataclass
class Server:
    """The real gateway, GraphiQL on, served by uvicorn on a port of its own."""

    url: str
    app: Starlette
    settings: Settings

    def token(self, username: str) -> str:
        return Authenticator(self.settings, self.app.state.keys, self.app.state.engine).issue(username)

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx2.Response:
        return httpx2.get(urljoin(self.url, path), headers=headers)


@pytest.fixture(scope="module")
def server(settings: Settings) -> Iterator[Server]:
    development = settings.model_copy(update={"env": "development", "graphiql": True})
    assert development.graphiql_enabled
    app = create_app(development)
    with serving(app) as url:
        yield Server(url=url, app=app, settings=development)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file():
        reason = f"{CHROMIUM} is missing (Debian's `chromium` package); the GraphiQL browser test needs it"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}, and CI must run it: .ci/run installs it")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


def _ide_page(server: Server) -> str:
    response = server.get("/graphql", {"Accept": "text/html"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def _html_references(html: str) -> set[str]:
    found = {next(filter(None, m.groups()), "") for m in _ATTRIBUTE_URL.finditer(html)}
    return found.union(*(_css_references(m.group(1)) for m in _STYLE_BLOCK.finditer(html)))


def _css_references(css: str) -> set[str]:
    found = {next(filter(None, m.groups()), "").strip() for m in _CSS_URL.finditer(css)}
    return found | {m.group(1) for m in _CSS_IMPORT.finditer(css)}


def _fetched(references: set[str]) -> set[str]:
    return {ref for ref in references if not ref.startswith("data:")}  # inline: nothing to fetch


def _foreign(references: set[str], text: str) -> set[str]:
    """What a browser could be sent to fetch from somewhere other than the page's own origin."""
    foreign = {ref for ref in _fetched(references) if not _same_origin_path(ref)}
    return foreign | {url for url in _ABSOLUTE_URL.findall(text) if url not in XML_NAMESPACES}


def _same_origin_path(reference: str) -> bool:
    parts = urlsplit(reference)
    return not parts.scheme and not parts.netloc and reference.startswith("/")


def test_the_ide_page_references_nothing_on_another_host(server: Server) -> None:
    html = _ide_page(server)
    references = _html_references(html)
    assert _foreign(references, html) == set()
    assets = _fetched(references)
    assert len(assets) == 7 and all(ref.startswith(f"{IDE_ASSETS_PATH}/") for ref in assets), assets


def test_every_asset_of_the_page_is_served_with_its_type_and_cached_forever(server: Server) -> None:
    for path in _fetched(_html_references(_ide_page(server))):
        response = server.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == MEDIA_TYPES[Path(path).suffix], path
        assert response.headers["cache-control"] == CACHE_FOREVER, path
        assert response.content == (ASSETS_DIR / path.removeprefix(f"{IDE_ASSETS_PATH}/")).read_bytes(), path


def test_the_stylesheets_load_nothing_from_another_host(server: Server) -> None:
    stylesheets = {ref for ref in _html_references(_ide_page(server)) if ref.endswith(".css")}
    assert len(stylesheets) == 2
    for path in stylesheets:
        css = server.get(path).text
        assert _foreign(_css_references(css), css) == set(), path


def test_a_revalidated_asset_is_304_and_still_cached_forever(server: Server) -> None:
    path = f"{IDE_ASSETS_PATH}/react-18.2.0/react.production.min.js"
    etag = server.get(path).headers["etag"]
    response = server.get(path, {"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["cache-control"] == CACHE_FOREVER


def test_a_missing_asset_is_404_and_not_cached(server: Server) -> None:
    response = server.get(f"{IDE_ASSETS_PATH}/react-18.2.0/nothing.js")
    assert response.status_code == 404
    assert "immutable" not in response.headers.get("cache-control", "")


def test_every_vendored_file_matches_sources_md() -> None:
    listed = dict(
        re.findall(r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", (ASSETS_DIR / "SOURCES.md").read_text(), re.M)
    )
    present = {str(p.relative_to(ASSETS_DIR)) for p in ASSETS_DIR.rglob("*") if p.is_file()} - {"SOURCES.md"}
    assert set(listed) == present
    for name, sha256 in listed.items():
        assert hashlib.sha256((ASSETS_DIR / name).read_bytes()).hexdigest() == sha256, name
    assert {p.parent for p in ASSETS_DIR.rglob("LICENSE")} == {p for p in ASSETS_DIR.iterdir() if p.is_dir()}


def _unit_name(server: Server, token: str, code: str) -> str:
    response = httpx2.post(
        urljoin(server.url, "/graphql"),
        json={"query": "query ($code: String) { unit(code: $code) { name } }", "variables": {"code": code}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    name: str = response.json()["data"]["unit"]["name"]
    return name


def _run_query(page: Page, query: str) -> None:
    editor = page.locator(".graphiql-query-editor .CodeMirror")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(query)  # as a paste: no bracket auto-closing, no completion pop-up
    assert page.evaluate("document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.getValue()") == query
    page.locator("button.graphiql-execute-button").click()


def test_graphiql_runs_a_query_in_a_browser_that_can_reach_only_the_gateway(server: Server, browser: Browser) -> None:
    token = server.token("admin")
    origin = urlsplit(server.url)
    elsewhere: list[str] = []
    errors: list[str] = []

    def only_the_gateway(route: Route) -> None:
        if urlsplit(route.request.url)[:2] == origin[:2]:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    context = browser.new_context()
    try:
        context.set_extra_http_headers({"Authorization": f"Bearer {token}"})
        page = context.new_page()
        page.route("**/*", only_the_gateway)
        page.on("websocket", lambda ws: None if urlsplit(ws.url).netloc == origin.netloc else elsewhere.append(ws.url))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)

        page.goto(f"{server.url}/graphql")  # returns once the page and its scripts have loaded
        assert elsewhere == []
        editor = page.locator(".graphiql-query-editor .CodeMirror")
        expect(editor, f"GraphiQL did not start; the browser said {errors}").to_be_visible()
        _run_query(page, '{ unit(code: "BNV") { code name } }')

        result = page.locator(".graphiql-response")
        expect(result).to_contain_text('"code": "BNV"')
        expect(result).to_contain_text(_unit_name(server, token, "BNV"))
    finally:
        context.close()
    assert elsewhere == []
    assert errors == []
