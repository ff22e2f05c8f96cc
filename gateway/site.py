"""What a person or a client finds around the API: `/` (what this is, and where everything is), the
schema as SDL, the OAuth 2 authorization-server metadata (RFC 8414) and the documentation."""

import html
from collections.abc import Callable
from pathlib import Path
from typing import Final

from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from db.errors import DomainError
from gateway.auth import JWT_BEARER_ASSERTION, Authenticator
from gateway.config import Settings
from gateway.errors import json_error

# Served from the source tree when it is there (a checkout, the image); a bare wheel has no docs/.
DOCS: Final = Path(__file__).resolve().parent.parent / "docs"
DOCUMENTS: Final = {
    "partners.md": "Partner agencies: signing in, querying, paging, verifying receipts",
    "receipts.md": "The receipt format, for anyone writing their own verifier",
}


def public_base(request: HTTPConnection, public_url: str | None) -> str:
    """Where clients reach the gateway: CCVC_PUBLIC_URL, else the request's own address (development)."""
    return (public_url or str(request.base_url)).rstrip("/")


def _links(settings: Settings) -> list[tuple[str, str]]:
    """(path, what it is), in the order a newcomer needs them."""
    links = [
        (
            "/graphql",
            "GraphQL endpoint (POST, bearer token)" + (": GraphiQL in a browser" if settings.graphiql_enabled else ""),
        )
    ]
    links += [
        ("/graphql/schema.graphql", "the schema as SDL"),
        ("/dashboard", "the dashboard: workforce by unit, age and gender, staffing, ranks, qualifications"),
        ("/auth/token", "OAuth 2 token endpoint (POST): password grant, or client_credentials for partner agencies"),
        ("/.well-known/oauth-authorization-server", "authorization-server metadata (RFC 8414)"),
        ("/.well-known/jwks.json", "public keys of tokens, receipts and log checkpoints"),
        ("/log/checkpoint", "the receipt log's signed tree head"),
        ("/healthz", "liveness"),
        ("/readyz", "readiness, each check named: the database, its schema's revision, the signing keys"),
    ]
    links += [(f"/docs/{name}", what) for name, what in DOCUMENTS.items() if (DOCS / name).is_file()]
    return links


def site_routes(settings: Settings, authenticator: Authenticator, *, sdl: Callable[[], str]) -> list[Route]:
    async def index(request: Request) -> Response:
        links = _links(settings)
        if "application/json" in request.headers.get("accept", "") and "text/html" not in request.headers.get(
            "accept", ""
        ):
            return JSONResponse({"name": "CCVC Gateway", "links": {path: what for path, what in links}})
        items = "\n".join(
            f'<li><a href="{path}">{html.escape(path)}</a> — {html.escape(what)}</li>' for path, what in links
        )
        return HTMLResponse(_PAGE.format(items=items))

    async def schema(request: Request) -> Response:
        # Open where the IDE is (development); elsewhere the schema is for signed-in callers only.
        if not settings.graphiql_enabled:
            try:
                await authenticator.from_authorization(request.headers.get("authorization"))
            except DomainError as error:
                return json_error(error.message, error.code)
        return PlainTextResponse(sdl())

    async def metadata(request: Request) -> Response:
        base = public_base(request, settings.public_url)
        return JSONResponse(
            {
                "issuer": settings.issuer,
                "token_endpoint": f"{base}/auth/token",
                "jwks_uri": f"{base}/.well-known/jwks.json",
                "grant_types_supported": ["password", "client_credentials"],
                # People use the password grant as a public client; partner systems authenticate with a
                # JWT signed by their registered key (RFC 7523).
                "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
                "token_endpoint_auth_signing_alg_values_supported": ["ES256"],
                "client_assertion_types_supported": [JWT_BEARER_ASSERTION],
                "response_types_supported": [],  # no authorization endpoint: tokens come from the token endpoint only
                "service_documentation": f"{base}/docs/partners.md",
            },
            # Built from the request's Host unless CCVC_PUBLIC_URL says where the gateway is: a cache must
            # then not hand one client's Host to another.
            headers={"Cache-Control": "public, max-age=3600" if settings.public_url else "no-store"},
        )

    async def document(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in DOCUMENTS or not (DOCS / name).is_file():
            return json_error(f"No document '{name[:40]}'", "NOT_FOUND")
        return PlainTextResponse((DOCS / name).read_text(encoding="utf-8"), media_type="text/markdown")

    return [
        Route("/", index, methods=["GET"]),
        Route("/graphql/schema.graphql", schema, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", metadata, methods=["GET"]),
        Route("/docs/{name}", document, methods=["GET"]),
    ]


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>CCVC Gateway</title>
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:3rem auto;padding:0 1rem}}
code{{background:#f3f3f3;padding:0 .2em}}</style></head>
<body>
<h1>CCVC Gateway</h1>
<p>The GraphQL data-sharing gateway in front of Vietnam's national database of cadres, civil servants and
public employees (cán bộ, công chức, viên chức): officials, organisational units and job positions, each
caller seeing what the law lets it see, every partner response with a signed receipt.</p>
<p>Every GraphQL request needs a bearer token from <code>/auth/token</code>; errors carry
<code>extensions.code</code>.</p>
<ul>
{items}
</ul>
</body></html>
"""
