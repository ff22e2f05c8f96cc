"""The ASGI application: the composition root wiring settings, database, keys and schema together."""

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Final
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from db.engine import Limits, create_engine, unavailable
from db.errors import DomainError
from db.events import Listener
from evidence.receipts import Receipts
from gateway.audit import AuditTrail
from gateway.auth import JWT_BEARER_ASSERTION, Authenticator, load_keys
from gateway.budgets import Budgets
from gateway.config import Settings, get_settings
from gateway.dashboard import dashboard_routes
from gateway.documents import TrustedDocuments
from gateway.errors import PasswordGrantRefused, json_error, unavailable_response
from gateway.evidence import export_routes, log_routes
from gateway.graphql import GraphQLView, read_capped_body, shape
from gateway.health import Readiness, healthz
from gateway.ide import ide_routes
from gateway.logs import RequestIds
from gateway.maintenance import Maintenance
from gateway.metrics import CountedEventBus, CountedReceiptLog
from gateway.metrics import install as install_metrics
from gateway.site import site_routes
from gateway.sync import sync_routes
from gateway.timing import TimePhases
from policies.authorizer import Authorizer
from policies.written import Scopes
from resolvers.months import Calendar, utc_now
from schema import Schema, build_schema, sdl

log = logging.getLogger("ccvc.app")

MAX_FORM_BYTES = 8192
# The audit's own pool (gateway/audit.py): one connection writes a batch while the next gathers.
AUDIT_POOL_SIZE: Final = 2


def schema_for(
    settings: Settings,
    authorizer: Authorizer | None = None,
    budgets: Budgets | None = None,
    maintenance: Maintenance | None = None,
) -> Schema:
    return build_schema(
        authorizer=authorizer or Authorizer(),
        max_depth=settings.max_query_depth,
        max_aliases=settings.max_aliases,
        max_tokens=settings.max_query_tokens,
        max_fields=settings.max_query_fields,
        max_cost=settings.max_query_cost,
        max_statements=settings.max_query_statements,
        compiled=settings.compiled_reads,
        extensions=[
            # Before the budgets: a mutation refused for maintenance runs nothing and spends nothing.
            *([maintenance.extension()] if maintenance is not None else []),
            *([TimePhases] if settings.server_timing_enabled else []),
            *([budgets.extension()] if budgets is not None else []),  # agencies' budgets, extensions.cost
        ],
    )


def create_app(settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None) -> Starlette:
    """The app; `clock` (the current instant, UTC) is for tests that stand at a given time of a month."""
    settings = settings or get_settings()
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        limits=Limits(
            connect_seconds=settings.db_connect_timeout_seconds,
            pool_seconds=settings.db_pool_timeout_seconds,
            statement_seconds=settings.db_statement_timeout_seconds,
        ),
    )
    # The audit writes on a small pool of its own: a request pool exhausted by slow reads must not keep it
    # from recording, nor its batches take connections the requests wait for (gateway/audit.py).
    audit = AuditTrail(
        create_engine(
            settings.database_url,
            pool_size=AUDIT_POOL_SIZE,
            limits=Limits(
                connect_seconds=settings.db_connect_timeout_seconds,
                pool_seconds=settings.db_pool_timeout_seconds,
                statement_seconds=settings.db_statement_timeout_seconds,
            ),
        )
    )
    keys = load_keys(settings)
    if settings.env == "production" and settings.server_timing_enabled:
        log.warning("CCVC_SERVER_TIMING is on in production: every response tells its caller its timings")
    authenticator = Authenticator(settings, keys, engine)
    authorizer = Authorizer()
    receipt_log = CountedReceiptLog(engine, keys, log_id=settings.issuer)  # counted for /metrics
    receipts = Receipts(receipt_log, keys, engine, issuer=settings.issuer, policy_version=authorizer.version)
    scopes = Scopes(authorizer, engine, ttl_seconds=settings.account_cache_seconds)
    events = CountedEventBus()
    # With PostgreSQL, approvals in any gateway process reach this one's subscribers (LISTEN/NOTIFY).
    listener = Listener(settings.database_url, events.deliver_json) if engine.dialect.name == "postgresql" else None
    budgets = Budgets.from_settings(settings)  # per agency: cost buckets (shared through Redis) and requests at once
    # Announced maintenance (gateway/maintenance.py): the windows, read on a connection of their own.
    maintenance = Maintenance(
        create_engine(
            settings.database_url,
            pool_size=1,
            limits=Limits(
                connect_seconds=settings.db_connect_timeout_seconds,
                pool_seconds=settings.db_pool_timeout_seconds,
                statement_seconds=settings.db_statement_timeout_seconds,
            ),
        )
    )
    schema = schema_for(settings, authorizer, budgets, maintenance)
    schema.shape_error = shape
    schema_text = sdl(schema)
    view = GraphQLView(
        schema,
        authenticator=authenticator,
        scopes=scopes,
        engine=engine,
        receipts=receipts,
        max_body_bytes=settings.max_body_bytes,
        graphiql=settings.graphiql_enabled,
        server_timing=settings.server_timing_enabled,
        retry_after=settings.retry_after_seconds,
        calendar=Calendar(clock or utc_now, settings.approval_window_days),
        public_url=settings.public_url,
        small_cell=settings.small_cell,
        events=events,
        max_tokens=settings.max_query_tokens,
        audit=audit,
        documents=TrustedDocuments(
            engine,
            required=settings.trusted_documents_mode == "agencies",
            introspection_by_agreement=settings.partner_introspection_mode == "agreement",
            cache_seconds=settings.trusted_documents_cache_seconds,
        ),
        budgets=budgets,
    )

    readyz = Readiness(
        engine,
        keys,
        retry_after=settings.retry_after_seconds,
        listener=listener,
        budgets=budgets,
        maintenance=maintenance,
    ).respond

    async def jwks(_: Request) -> Response:
        keys.refresh()
        return Response(orjson.dumps(keys.jwks()), media_type="application/jwk-set+json")

    async def token(request: Request) -> Response:
        return await _token_endpoint(request, authenticator, settings)

    def unexpected(error: Exception) -> Response:
        if unavailable(error):
            log.warning("Answered 503: the database is unavailable (%s)", type(error).__name__)
            return unavailable_response(settings.retry_after_seconds)
        if isinstance(error, DomainError):  # bad input found on the way to the database (a NUL, say)
            return json_error(error.message, error.code)
        log.error("Unhandled error", exc_info=error)
        return json_error("Internal error", "INTERNAL")

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        if listener is not None:
            listener.start()
        yield
        if listener is not None:
            await listener.stop()
        await audit.close()
        await budgets.close()
        await maintenance.close()
        await receipt_log.drain()
        await engine.dispose()

    app = Starlette(
        routes=[
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/.well-known/jwks.json", jwks, methods=["GET"]),
            Route("/auth/token", token, methods=["POST"]),
            Route("/graphql", view.endpoint, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),  # subscriptions (graphql-transport-ws)
            *log_routes(receipt_log, receipts),
            *export_routes(authenticator, engine, audit),
            *sync_routes(engine, maintenance),
            *dashboard_routes(),
            *(ide_routes() if settings.graphiql_enabled else []),
            *site_routes(settings, authenticator, sdl=lambda: schema_text),
        ],
        exception_handlers={HTTPException: _http_error},
        # Every request's id, in its log lines and its X-Request-Id; what no handler answered, it answers
        # (inside it, so that a 500 and its log line carry the id too: found by review).
        middleware=[Middleware(RequestIds, on_error=unexpected)],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.keys = keys
    app.state.scopes = scopes
    app.state.authenticator = authenticator
    app.state.receipt_log = receipt_log
    app.state.receipts = receipts
    app.state.events = events
    app.state.audit = audit
    app.state.budgets = budgets
    app.state.maintenance = maintenance
    app.state.listener = listener
    app.state.reader = schema.reader  # the compiled read path's counts (None when it is turned off)
    install_metrics(app)  # GET /metrics, and every request measured (gateway/metrics.py)
    return app


# Young collections every 10,000 net allocations instead of 700: a partner page allocates tens of
# thousands of short-lived objects (rows, dicts, strings), almost none in cycles, and each collection
# would otherwise walk the survivors of the last ones. Measured on a partner page, four at a time in one
# process: 7.2 ms of CPU per request; 6.5 with the start-up objects frozen; 5.5 with these thresholds.
GC_THRESHOLDS: Final = (10_000, 20, 20)


def serving_app() -> Starlette:
    """The app as `ccvc serve` runs it (one per worker process): created, then what start-up made is
    frozen out of the garbage collector's sight (the schema, the policy, the plans' code: they live as
    long as the process) and young collections are made rarer. Not in create_app: a test process
    creates many apps and must collect the ones it drops."""
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    return app


async def _http_error(_: Request, error: Exception) -> Response:
    """Starlette's own answers (no such path, wrong method) in the API's error shape, not plain text."""
    assert isinstance(error, HTTPException)
    code = "NOT_FOUND" if error.status_code == 404 else "BAD_REQUEST"
    return json_error(error.detail, code, error.status_code, headers=dict(error.headers or {}))


def _oauth_error(status: int, error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


async def _token_endpoint(request: Request, authenticator: Authenticator, settings: Settings) -> Response:
    """RFC 6749 token endpoint, form-encoded (or JSON) in, a bearer token out: the password grant for
    people, and the client_credentials grant with a signed client assertion for partner agencies."""
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
    if grant == "client_credentials":
        return await _client_credentials_grant(fields, authenticator, settings)
    if grant != "password":
        return _oauth_error(400, "unsupported_grant_type", f"Grant type '{grant}' is not supported")
    username, password = fields.get("username"), fields.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
        return _oauth_error(400, "invalid_request", "`username` and `password` are required")
    try:
        access_token = await authenticator.password_login(username, password)
    except PasswordGrantRefused as error:
        return _oauth_error(400, "unauthorized_client", error.message)
    except DomainError as error:
        return _oauth_error(400, "invalid_grant", error.message)
    return _token_response(access_token, settings)


async def _client_credentials_grant(
    fields: dict[str, object], authenticator: Authenticator, settings: Settings
) -> Response:
    """RFC 7523 §2.2 client authentication by a signed assertion (partner agencies only)."""
    if fields.get("client_assertion_type") != JWT_BEARER_ASSERTION:
        return _oauth_error(400, "invalid_request", f"`client_assertion_type` must be {JWT_BEARER_ASSERTION}")
    assertion, client_id = fields.get("client_assertion"), fields.get("client_id")
    if not isinstance(assertion, str) or not assertion:
        return _oauth_error(400, "invalid_request", "`client_assertion` is required")
    if client_id is not None and not isinstance(client_id, str):
        return _oauth_error(400, "invalid_request", "`client_id` must be a string")
    try:
        access_token = await authenticator.client_credentials(assertion, client_id or None)
    except DomainError as error:
        # RFC 6749 §5.2 reserves 401 for a client that authenticated with the Authorization header;
        # the assertion travels in the body, so a failed client authentication is 400 invalid_client.
        return _oauth_error(400, "invalid_client", error.message)
    return _token_response(access_token, settings)


def _token_response(access_token: str, settings: Settings) -> Response:
    return JSONResponse(
        {"access_token": access_token, "token_type": "Bearer", "expires_in": settings.token_ttl_seconds},
        headers={"Cache-Control": "no-store"},
    )
