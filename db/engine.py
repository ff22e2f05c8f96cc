"""The async engine for CCVC_DATABASE_URL, tuned per back end."""

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

import orjson
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from db.errors import BadInput, Unavailable
from db.work import instrument


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; foreign keys are off by default in SQLite.
    # synchronous=FULL: a commit (a logged receipt above all) survives a power cut, not only a crash.
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=5000",
    ):
        cursor.execute(pragma)
    cursor.close()


# asyncpg prepares every statement, and after five runs PostgreSQL may switch to a generic plan that
# ignores the parameters. Units differ by orders of magnitude (a department of 40 against a ministry of
# 40,000), so a generic plan chosen for "some unit" can sort a whole ministry to return 100 rows (60 ms
# where the custom plan takes 0.2 ms, found by bench/run). Planning each run costs well under 1 ms.
POSTGRES_SETTINGS = {"plan_cache_mode": "force_custom_plan"}


@dataclass(frozen=True, slots=True)
class Limits:
    """How long the gateway waits on its database before answering 503 (SERVICE_UNAVAILABLE) rather than
    hanging: to open a connection, for a free one in the pool, and for one statement. The CLI keeps no
    statement limit (a national seed or a migration runs for minutes)."""

    connect_seconds: float = 2.0
    pool_seconds: float = 2.0
    statement_seconds: float | None = None


def create_engine(url: str, *, pool_size: int = 10, limits: Limits = Limits()) -> AsyncEngine:
    backend = make_url(url).get_backend_name()
    pool: dict[str, Any] = {
        "pool_size": pool_size,
        "max_overflow": pool_size,
        "pool_timeout": limits.pool_seconds,
        "json_serializer": _json_dumps,
        # A driver's error names its statement, and by default its parameters too: personal data, which
        # would reach the logs with the error (found by review).
        "hide_parameters": True,
    }
    if backend == "sqlite":
        engine = create_async_engine(url, **pool)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        if limits.statement_seconds is not None:
            _limit_sqlite_statements(engine, limits.statement_seconds)
    elif backend == "postgresql":
        settings = dict(POSTGRES_SETTINGS)
        if limits.statement_seconds is not None:
            settings["statement_timeout"] = str(int(limits.statement_seconds * 1000))
        engine = create_async_engine(
            url, **pool, connect_args={"server_settings": settings, "timeout": limits.connect_seconds}
        )
        _ping_when_idle(engine)
    else:
        raise ValueError(f"Unsupported database URL '{url}': use sqlite+aiosqlite:// or postgresql+asyncpg://")
    instrument(engine)  # per-request statement counts, for Server-Timing and the benchmarks
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_nul)
    return engine


# A pooled connection idle this long is pinged before it is handed out (SQLAlchemy's pool_pre_ping
# pings every checkout: a round trip and 0.5 ms of this process each, three times for an official's
# own request). A connection used a moment ago is alive or the server has just gone; a statement
# that then fails on it invalidates the whole pool (SQLAlchemy's disconnect handling), so requests
# after the server's return get fresh connections either way.
PING_AFTER_IDLE_SECONDS: Final = 1.0


def _ping_when_idle(engine: AsyncEngine) -> None:
    pool = engine.sync_engine.pool
    dialect = engine.dialect

    def checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool replaces this connection and tries another (a new one if need be).
            raise exc.DisconnectionError("A pooled connection did not answer its ping") from error

    event.listen(pool, "checkin", checked_in)
    event.listen(pool, "checkout", checkout)


def _refuse_nul(_conn: Any, _cursor: Any, _statement: str, parameters: Any, _context: Any, many: bool) -> None:
    """PostgreSQL text cannot hold NUL, and the driver's error would reach the caller as INTERNAL: any
    caller-given string with one (a username, a code, a jti) is bad input, wherever it is bound, on
    both back ends alike. Bulk loads (executemany: the seed) are the gateway's own data."""
    if many or not parameters:
        return
    values = parameters.values() if isinstance(parameters, dict) else parameters
    if any(isinstance(value, str) and "\x00" in value for value in values):
        raise BadInput("A text value contains a NUL character, which cannot be stored or looked up")


@asynccontextmanager
async def reading(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A pooled connection for reads, without a transaction. Each read is one statement, and PostgreSQL's
    READ COMMITTED gives each statement its own snapshot anyway; without a transaction a read is one
    round trip, not three (BEGIN, the statement, and the ROLLBACK that returning the connection to the
    pool sends). Writes take `engine.begin()`."""
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def unavailable(error: BaseException) -> bool:
    """Whether `error` means the database is down, unreachable, saturated or too slow (the request
    should be answered 503 with Retry-After), rather than a bug (500) or bad input."""
    if isinstance(error, Unavailable | OSError | exc.TimeoutError | exc.DisconnectionError):
        return True  # refused or timed-out connects; a pool with no free connection in time
    if isinstance(error, exc.InterfaceError):
        # The driver lost its connection ("connection is closed"), or the code misused it (too many
        # parameters for one statement): only the first is the database being away.
        return error.connection_invalidated or "connection" in str(error.orig).lower()
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    state = str(getattr(error.orig, "sqlstate", "") or "")
    if state:
        # PostgreSQL's classes 08 (connection), 53 (insufficient resources: too many connections) and
        # 57 (operator intervention: statement timeout, shutdown, cannot connect now).
        return state[:2] in ("08", "53", "57")
    # SQLite says it in words; "no such column" or a syntax error stays a bug (500), not a 503.
    message = str(error.orig).lower()
    return any(words in message for words in _SQLITE_UNAVAILABLE)


_SQLITE_UNAVAILABLE: Final = (
    "database is locked",
    "database is busy",
    "interrupted",  # the statement time limit
    "unable to open database",
    "disk i/o error",
    "database or disk is full",
    "no such table",  # a database without the schema: not ready
)


@dataclass(slots=True)
class _Deadline:
    at: float = math.inf


def _limit_sqlite_statements(engine: AsyncEngine, seconds: float) -> None:
    """SQLite has no statement timeout: a progress handler, called every few thousand virtual-machine
    steps in the driver's thread, interrupts a statement past its deadline ("interrupted"). The driver
    fetches a statement's rows before `after_cursor_execute`, so the deadline covers them too."""

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        deadline = record.info["ccvc_deadline"] = _Deadline()  # the pool's record outlives checkouts
        handler = lambda: 1 if time.monotonic() > deadline.at else 0  # noqa: E731
        dbapi_connection.await_(dbapi_connection._connection.set_progress_handler(handler, _PROGRESS_STEPS))

    def before(conn: Any, *_: Any) -> None:
        conn.info["ccvc_deadline"].at = time.monotonic() + seconds

    def after(conn: Any, *_: Any) -> None:
        conn.info["ccvc_deadline"].at = math.inf

    event.listen(engine.sync_engine, "connect", on_connect)
    event.listen(engine.sync_engine, "before_cursor_execute", before)
    event.listen(engine.sync_engine, "after_cursor_execute", after)


_PROGRESS_STEPS: Final = 10_000
