"""`GET /metrics` in Prometheus' text format: requests by endpoint, GraphQL operation and outcome, the
database pool, receipts issued, approval events and rate-limit rejections (docs/operations.md, "Read
the metrics", says what each means).

Under `ccvc serve` every worker process writes its values to files in PROMETHEUS_MULTIPROC_DIR
(gateway/_metrics_dir.py sets it before this module is imported) and a scrape, answered by any one
worker, sums them all. In a process without it (tests, an embedded app) the values live in memory.

What a request costs here: a clock read, one wrapper of `send`, one label lookup and one histogram
observation. The outcome is read from the response itself (its status, and for an error the first
error's `extensions.code`), so it is what the caller saw, whichever part of the gateway answered.
"""

import hmac
import os
import re
import time
from typing import Any, Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client import values as prometheus_values
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from db.errors import CODES
from evidence.log import ReceiptLog
from evidence.records import IssuedReceipt
from gateway._metrics_dir import VARIABLE
from gateway.config import Settings
from gateway.errors import json_error
from resolvers.events import ApprovalEvent, EventBus
from resolvers.transaction import Transaction

PATH: Final = "/metrics"
# Whether prometheus_client keeps values in files shared by the workers (chosen at its import).
MULTIPROCESS: Final = prometheus_values.ValueClass is not prometheus_values.MutexValue

# Fixed labels: what has no name, or more names than a label may take, collapses into one of these.
OK: Final = "ok"
NOT_GRAPHQL: Final = "-"  # a request to another endpoint than /graphql
NOT_RUN: Final = "unknown"  # a GraphQL request refused before its operation ran (unauthenticated, throttled…)
ANONYMOUS: Final = "anonymous"  # `{ … }` or `query { … }`: an operation without a name
OTHER: Final = "other"  # past MAX_OPERATIONS names, or an error code the gateway does not define
# Distinct operation names one process labels, per kind of caller; later names count as OTHER. Names come
# from callers, and each would be a time series of its own: this is what keeps a caller from growing them
# without end. Apart per kind (found by review): any of two million officials holds a token, and sending
# names of its own must not take the slots of the partners' operations, which the dashboards follow.
MAX_OPERATIONS: Final = {"agency": 120, "staff": 50, "official": 30}
_NAME: Final = re.compile(r"[_A-Za-z][_0-9A-Za-z]{0,63}")

# A partner page takes a few milliseconds; an export or a national aggregate, seconds.
BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS: Final = Histogram(
    "ccvc_http_request_duration_seconds",
    "HTTP requests by endpoint, GraphQL operation and outcome (ok, or the answer's error code), and how long "
    "each took to answer; its _count is the number of requests",
    ["endpoint", "operation", "outcome"],
    buckets=BUCKETS,
)
THROTTLED: Final = Counter(
    "ccvc_rate_limit_rejections_total",
    "Requests answered 429 THROTTLED (over their agency's budget), by agency code",
    ["agency"],
)
RECEIPTS: Final = Counter(
    "ccvc_receipts_issued_total",
    "Receipts signed and appended to the receipt log, by kind (response, export…)",
    ["kind"],
)
EVENTS_PUBLISHED: Final = Counter(
    "ccvc_approval_events_published_total", "Approval events this gateway's approvals published"
)
EVENTS_DELIVERED: Final = Counter(
    "ccvc_approval_events_delivered_total",
    "Approval events handed to a gateway process's subscriptions (with PostgreSQL, each process gets each event)",
)
# livesum: the processes alive now, summed; a dead worker's part goes with it (sweep_dead_workers).
POOL_CHECKED_OUT: Final = Gauge(
    "ccvc_db_pool_checked_out",
    "Database connections in use (checked out of the pools of all worker processes)",
    multiprocess_mode="livesum",
)
POOL_SIZE: Final = Gauge(
    "ccvc_db_pool_size",
    "Database connections the pools keep (CCVC_DB_POOL_SIZE per worker process; as many again may overflow)",
    multiprocess_mode="livesum",
)

# The error codes an outcome may be: the API's (db.errors.CODES), those of the parts built beside this
# one, and RFC 6749's for the token endpoint. Keyed by their bytes, as they are found in a body.
_CODES: Final = frozenset(CODES) | {"THROTTLED", "MAINTENANCE"}
_OAUTH: Final = ("invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type")
_KNOWN: Final = {code.encode(): code for code in (*_CODES, *_OAUTH)}
_ERRORS: Final = b'"errors":[{'
_CODE: Final = b'"code":"'
_OAUTH_ERROR: Final = b'"error":"'
# Bodies past this are not kept to be read for their code (their status still tells the outcome).
MAX_READ: Final = 4 * 1024 * 1024

_ENDPOINTS: Final = {
    "/graphql": "graphql",
    "/graphql/schema.graphql": "site",
    "/healthz": "health",
    "/readyz": "health",
    PATH: "metrics",
    "/auth/token": "auth",
    "/": "site",
}
# The first segment of the other routes' paths (gateway/app.py): a bounded set, whatever is asked.
_PREFIXES: Final = {
    "log": "log",
    "receipts": "receipts",
    "exports": "exports",
    "sync": "sync",
    "dashboard": "site",
    "docs": "site",
    ".well-known": "well-known",
    "graphiql": "site",
}


def endpoint_of(path: str) -> str:
    known = _ENDPOINTS.get(path)
    return known if known is not None else _PREFIXES.get(path[1:].partition("/")[0], "other")


class OperationNames:
    """The operation label of a request: its name while fewer than its kind of caller's limit of names
    have been seen (a name once admitted is every caller's)."""

    def __init__(self, limits: dict[str, int] | None = None) -> None:
        self.limits = dict(MAX_OPERATIONS if limits is None else limits)
        self._admitted: set[str] = set()
        self._by_kind: dict[str, int] = {}

    def label(self, name: str | None, kind: str = "official") -> str:
        if name is None:
            return ANONYMOUS
        if name in self._admitted:
            return name
        taken = self._by_kind.get(kind, 0)
        if taken >= self.limits.get(kind, 0) or not _NAME.fullmatch(name):
            return OTHER
        self._by_kind[kind] = taken + 1
        self._admitted.add(name)
        return name


OPERATIONS: Final = OperationNames()


def error_code(body: bytes) -> str | None:
    """The first error's `extensions.code` of an answer (or an OAuth answer's `error`), without parsing
    it: a GraphQL answer puts its `errors` after `data`, so the last `"errors":[{` is the answer's own
    (a message is a JSON string: its quotes are escaped), and the first `"code":"` after it is that
    error's. A code the gateway does not define is OTHER."""
    start = body.rfind(_ERRORS)
    marker = _CODE
    if start < 0:
        start, marker = body.find(_OAUTH_ERROR), _OAUTH_ERROR
        if start < 0:
            return None
    at = body.find(marker, start)
    if at < 0:
        return None
    at += len(marker)
    end = body.find(b'"', at)
    return _KNOWN.get(body[at:end], OTHER) if end > at else None


def outcome(status: int, body: bytes | None) -> str:
    """`ok`, or the code the answer gave; its status (HTTP_503…) when it gave none."""
    if status == 0:  # no answer began: an exception went past every handler
        return "INTERNAL"
    code = None if body is None else error_code(body)
    if code is not None:
        return code
    return OK if status < 400 else f"HTTP_{status}"


def _state(scope: Scope) -> dict[str, Any]:
    # Starlette's request.state is this dict: the GraphQL view leaves its request's context in it.
    state = scope.get("state")
    return state if isinstance(state, dict) else {}


def _operation(context: Any) -> str:
    operation = getattr(context, "operation", None)
    kind = getattr(getattr(context, "principal", None), "kind", "official")
    return NOT_RUN if operation is None else OPERATIONS.label(operation.name, kind)


def _agency(state: dict[str, Any], context: Any) -> str:
    # The view leaves the authenticated principal in the state as soon as it has one (before the context).
    principal = state.get("ccvc_principal") or getattr(context, "principal", None)
    if principal is None:
        return NOT_RUN
    code = getattr(principal, "agency_code", None)
    return code if isinstance(code, str) else "none"


class _Children:
    """The histogram's labelled children, found by a dict lookup (prometheus_client's own takes a lock
    and checks the labels on every call)."""

    def __init__(self) -> None:
        self._children: dict[tuple[str, str, str], Any] = {}

    def observe(self, labels: tuple[str, str, str], seconds: float) -> None:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = REQUESTS.labels(*labels)
        child.observe(seconds)


_REQUESTS: Final = _Children()


def record(scope: Scope, status: int, body: bytes | None, seconds: float) -> None:
    endpoint = endpoint_of(scope["path"])
    state = _state(scope)
    context = state.get("ccvc_context") if endpoint == "graphql" else None
    operation = _operation(context) if endpoint == "graphql" else NOT_GRAPHQL
    answered = outcome(status, body)
    _REQUESTS.observe((endpoint, operation, answered), seconds)
    if status == 429 and answered == "THROTTLED":
        THROTTLED.labels(_agency(state, context)).inc()


def _keeps_body(scope: Scope, status: int) -> bool:
    """Whether the answer's body is read for its error code: an error status, or a GraphQL answer the
    view marked as carrying errors (a partial answer, 200)."""
    return status >= 400 or bool(_state(scope).get("ccvc_failed"))


class RequestMetrics:
    """ASGI middleware, outermost: times every HTTP request to its last byte and records its outcome."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 0
        body: bytes | None = None

        async def observed(message: Message) -> None:
            nonlocal status, body
            if message["type"] == "http.response.start":
                status = int(message["status"])
                body = b"" if _keeps_body(scope, status) else None
            elif body is not None and len(body) < MAX_READ:
                body += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            record(scope, status, body, time.perf_counter() - started)


class CountedReceiptLog(ReceiptLog):
    """The receipt log, counting each receipt once it is appended (evidence/ cannot see the gateway's
    metrics; the gateway sees the log)."""

    async def append(self, payload: dict[str, Any], *, account_id: int) -> IssuedReceipt:
        issued = await super().append(payload, account_id=account_id)
        RECEIPTS.labels(_kind(payload)).inc()
        return issued

    async def append_in(self, conn: AsyncConnection, payload: dict[str, Any], *, account_id: int) -> IssuedReceipt:
        issued = await super().append_in(conn, payload, account_id=account_id)
        RECEIPTS.labels(_kind(payload)).inc()
        return issued


def _kind(payload: dict[str, Any]) -> str:
    kind = payload.get("kind")
    return kind if kind in ("response", "export") else OTHER


class CountedEventBus(EventBus):
    """The event bus, counting what this process's approvals publish and what reaches its subscribers."""

    async def publish(self, conn: AsyncConnection, transaction: Transaction | None, event: ApprovalEvent) -> None:
        await super().publish(conn, transaction, event)
        EVENTS_PUBLISHED.inc()

    def deliver(self, event: ApprovalEvent) -> None:
        super().deliver(event)
        EVENTS_DELIVERED.inc()


def watch_pool(engine: AsyncEngine) -> None:
    """Count the pool's connections as they are checked out and in (SQLAlchemy's pool events)."""
    size = getattr(engine.sync_engine.pool, "size", None)
    if callable(size):
        POOL_SIZE.set(size())
    event.listen(engine.sync_engine, "checkout", _checked_out)
    event.listen(engine.sync_engine, "checkin", _checked_in)


def _checked_out(*_: object) -> None:
    POOL_CHECKED_OUT.inc()


def _checked_in(*_: object) -> None:
    POOL_CHECKED_OUT.dec()


def sweep_dead_workers(directory: str) -> None:
    """Drop the live gauges of worker processes that are gone (a worker that crashed, or was replaced
    by uvicorn's supervisor), so the pool's numbers are those of the processes serving now."""
    pids = {int(match.group(1)) for name in os.listdir(directory) if (match := _LIVE_FILE.fullmatch(name))}
    for pid in pids:
        if not _alive(pid):
            try:
                multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]  # untyped upstream
            except FileNotFoundError:
                pass  # another worker swept the same dead pid at the same moment (it globs, then removes)


_LIVE_FILE: Final = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process by now: not one of our workers
        return False
    return True


def exposition() -> bytes:
    """The metrics of every worker (or of this process alone)."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    directory = os.environ[VARIABLE]
    sweep_dead_workers(directory)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]  # untyped upstream
    return generate_latest(registry)


def _loopback(request: Request) -> bool:
    host = request.client.host if request.client is not None else ""
    # Through a proxy on the same machine, the proxy is the client: its forwarding headers say so.
    forwarded = "forwarded" in request.headers or "x-forwarded-for" in request.headers
    return host in ("127.0.0.1", "::1", "::ffff:127.0.0.1") and not forwarded


def metrics_endpoint(settings: Settings) -> Any:
    """`/metrics`: with CCVC_METRICS_TOKEN set, to its bearer only; without, to this machine only."""
    token = settings.metrics_token.get_secret_value().encode() if settings.metrics_token is not None else None

    async def metrics(request: Request) -> Response:
        if token is not None:
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token):
                return json_error(
                    "/metrics needs the bearer token of CCVC_METRICS_TOKEN",
                    "UNAUTHENTICATED",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                )
        elif not _loopback(request):
            return json_error("/metrics answers this machine only; set CCVC_METRICS_TOKEN to scrape it", "FORBIDDEN")
        return Response(await run_in_threadpool(exposition), media_type=CONTENT_TYPE_LATEST)

    return metrics


def install(app: Starlette) -> None:
    """Serve /metrics and measure `app` (created by gateway.app.create_app, its state filled)."""
    settings: Settings = app.state.settings
    app.add_route(PATH, metrics_endpoint(settings), methods=["GET"], include_in_schema=False)
    app.add_middleware(RequestMetrics)
    watch_pool(app.state.engine)
    if MULTIPROCESS:
        sweep_dead_workers(os.environ[VARIABLE])
