"""The async engine for CCVC_DATABASE_URL, tuned per back end."""

from typing import Any

import orjson
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

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


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_async_engine(url, json_serializer=_json_dumps)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    elif backend == "postgresql":
        engine = create_async_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            json_serializer=_json_dumps,
            connect_args={"server_settings": POSTGRES_SETTINGS},
        )
    else:
        raise ValueError(f"Unsupported database URL '{url}': use sqlite+aiosqlite:// or postgresql+asyncpg://")
    instrument(engine)  # per-request statement counts, for Server-Timing and the benchmarks
    return engine
