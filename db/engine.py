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


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        engine = create_async_engine(url, json_serializer=_json_dumps)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    elif backend == "postgresql":
        engine = create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, json_serializer=_json_dumps)
    else:
        raise ValueError(f"Unsupported database URL '{url}': use sqlite+aiosqlite:// or postgresql+asyncpg://")
    instrument(engine)  # per-request statement counts, for Server-Timing and the benchmarks
    return engine
