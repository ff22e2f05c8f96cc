"""The benchmark database: `ccvc_bench_<N>` on the local PostgreSQL, seeded once with N officials and
kept for later runs (a run only adds receipts and export files to it)."""

import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from workloads import Fixture

ROOT = Path(__file__).resolve().parent.parent
CCVC = ROOT / ".venv" / "bin" / "ccvc"
SAMPLE_OFFICIALS = 500  # distinct officials the self workload signs in as


def asyncpg_url(server: str, database: str) -> str:
    return f"{server.rstrip('/')}/{database}"


def sqlalchemy_url(server: str, database: str) -> str:
    return asyncpg_url(server, database).replace("postgresql://", "postgresql+asyncpg://", 1)


async def _officials(server: str, database: str) -> int | None:
    """How many officials the database holds, or None when it is missing or was never fully seeded."""
    try:
        conn = await asyncpg.connect(asyncpg_url(server, database))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        seeded = await conn.fetchval("SELECT to_regclass('bench_seeded') IS NOT NULL")
        return int(await conn.fetchval("SELECT officials FROM bench_seeded")) if seeded else None
    finally:
        await conn.close()


async def prepare(server: str, officials: int) -> str:
    """The name of a database with `officials` seeded officials, migrated to the current schema."""
    database = f"ccvc_bench_{officials}"
    env = os.environ | {"CCVC_DATABASE_URL": sqlalchemy_url(server, database), "CCVC_ENV": "development"}
    if await _officials(server, database) != officials:
        admin = await asyncpg.connect(asyncpg_url(server, "postgres"))
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{database}"')
        finally:
            await admin.close()
        print(f"Seeding {database} with {officials:,} officials (once; later runs reuse it) ...", file=sys.stderr)
        started = time.perf_counter()
        subprocess.run([CCVC, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([CCVC, "seed", "--officials", str(officials), "--password", ""], env=env, check=True)
        conn = await asyncpg.connect(asyncpg_url(server, database))
        try:
            await conn.execute("VACUUM ANALYZE")
            # Written last: a database without it was not fully seeded and is made again.
            await conn.execute("CREATE TABLE bench_seeded AS SELECT $1::int AS officials", officials)
        finally:
            await conn.close()
        print(f"Seeded in {time.perf_counter() - started:.0f} s.", file=sys.stderr)
    else:
        before = await _revision(server, database)
        subprocess.run([CCVC, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        if await _revision(server, database) != before:
            # A migration may have updated every row (a new column filled in), leaving the table twice
            # its size with a dead copy of each row: measure it compact, as a seed at this schema is.
            print(f"Migrated {database}; compacting (VACUUM FULL) ...", file=sys.stderr)
            conn = await asyncpg.connect(asyncpg_url(server, database))
            try:
                await conn.execute("VACUUM FULL")
                await conn.execute("VACUUM ANALYZE")  # FULL leaves the visibility map empty (no index-only scans)
            finally:
                await conn.close()
    return database


async def _revision(server: str, database: str) -> str:
    conn = await asyncpg.connect(asyncpg_url(server, database))
    try:
        return str(await conn.fetchval("SELECT version_num FROM alembic_version"))
    finally:
        await conn.close()


async def fixture(server: str, database: str) -> Fixture:
    conn = await asyncpg.connect(asyncpg_url(server, database))
    try:
        ministries = await conn.fetch("SELECT id FROM unit WHERE parent_id IS NULL AND kind = 'MINISTRY' ORDER BY id")
        hr = await conn.fetch(
            "SELECT a.username, u.id FROM unit u JOIN account a ON a.username = 'hr.' || u.code "
            "WHERE u.parent_id IS NULL AND u.kind = 'MINISTRY' ORDER BY u.id"
        )
        # Every n-th official account: spread over units, the same sample on every run.
        total = await conn.fetchval("SELECT count(*) FROM account WHERE kind = 'official'")
        step = max(1, total // SAMPLE_OFFICIALS)
        officials = await conn.fetch(
            "SELECT username, official_id FROM account WHERE kind = 'official' AND id % $1 = 0 ORDER BY id LIMIT $2",
            step,
            SAMPLE_OFFICIALS,
        )
    finally:
        await conn.close()
    return Fixture(
        ministries=tuple(r["id"] for r in ministries),
        officials=tuple((r["username"], r["official_id"]) for r in officials),
        ministry_hr=tuple((r["username"], r["id"]) for r in hr),
    )
