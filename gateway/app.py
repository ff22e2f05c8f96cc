"""The ASGI application: the composition root wiring settings, database, keys and schema together."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qsl

import orjson
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from db.engine import create_engine
from db.errors import DomainError
from gateway.auth import Authenticator
from gateway.config import Settings, get_settings
from gateway.crypto import KeyRing
from gateway.graphql import GraphQLView, json_error, read_capped_body
from schema import build_schema

log = logging.getLogger("ccvc.app")

MAX_FORM_BYTES = 8192


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
    keys = KeyRing.load(
        settings.keys_dir, create=settings.env != "production", max_token_bytes=settings.max_token_bytes
    )
    authenticator = Authenticator(settings, keys, engine)
    schema = build_schema(
        max_depth=settings.max_query_depth, max_aliases=settings.max_aliases, max_tokens=settings.max_query_tokens
    )
    view = GraphQLView(
        schema,
        authenticator=authenticator,
        engine=engine,
        max_body_bytes=settings.max_body_bytes,
        graphiql=settings.graphiql_enabled,
    )

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            log.exception("Database is not answering")
            return json_error(503, "Database is not answering", "UNAVAILABLE")
        return JSONResponse({"status": "ready"})

    async def jwks(_: Request) -> Response:
        return Response(orjson.dumps(keys.jwks()), media_type="application/jwk-set+json")

    async def token(request: Request) -> Response:
        return await _token_endpoint(request, authenticator, settings)

    async def unexpected(_: Request, error: Exception) -> Response:
        log.error("Unhandled error", exc_info=error)
        return json_error(500, "Internal error", "INTERNAL")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
            Route("/auth/token", token, methods=["POST"]),
            Route("/graphql", view.endpoint, methods=["GET", "POST"]),
        ],
        exception_handlers={Exception: unexpected},
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.keys = keys
    return app


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def _token_endpoint(request: Request, authenticator: Authenticator, settings: Settings) -> Response:
    """RFC 6749 password grant: form-encoded (or JSON) username and password in, a bearer token out."""
    body = await read_capped_body(request, MAX_FORM_BYTES)
    if body is None:
        return _oauth_error(413, "invalid_request", "Request body is too large")
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            fields = orjson.loads(body)
            if not isinstance(fields, dict):
                raise ValueError
        else:
            fields = dict(parse_qsl(body.decode(), max_num_fields=10, strict_parsing=bool(body)))
    except (ValueError, UnicodeDecodeError):
        return _oauth_error(400, "invalid_request", "Body must be form-encoded or a JSON object")
    grant = fields.get("grant_type", "password")
    if grant != "password":
        return _oauth_error(400, "unsupported_grant_type", f"Grant type '{grant}' is not supported")
    username, password = fields.get("username"), fields.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        return _oauth_error(400, "invalid_request", "`username` and `password` are required")
    try:
        access_token = await authenticator.password_login(username, password)
    except DomainError as error:
        return _oauth_error(400, "invalid_grant", error.message)
    return JSONResponse(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": settings.token_ttl_seconds},
        headers={"Cache-Control": "no-store"},
    )
