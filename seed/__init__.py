"""`ccvc seed`: a deterministic synthetic national database, loaded in bulk.

PostgreSQL gets binary COPY; SQLite gets executemany. Everything is written in one transaction, so a
failed seed leaves the database as it was.
"""

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

import orjson
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.errors import BadInput
from db.models import Unit, metadata, table_of
from db.queries import agreements, versions
from seed.people import (
    ACCOUNT_COLUMNS,
    CHILD_COLUMNS,
    CHUNK,
    OFFICIAL_COLUMNS,
    REFERENCE_TIME,
    Chunk,
    Generator,
    assign,
    quota_for,
)
from seed.structure import PERSONNEL_DEPARTMENT, TOP_UNITS, Structure, build

UNIT_COLUMNS = ("id", "code", "name", "kind", "parent_id", "top_unit_id", "level", "path")
POSITION_COLUMNS = ("id", "unit_id", "code", "title", "category", "quota", "required_rank")

# Partner agencies: social insurance reads every ministry; two ministries run systems of their own.
AGENCIES = (
    ("bhxh", "Bảo hiểm xã hội Việt Nam"),
    ("BTC", "Hệ thống thông tin của Bộ Tài chính"),
    ("BYT", "Hệ thống thông tin của Bộ Y tế"),
)
# Their agreements: (agency, top-level unit codes or None for all, field groups, document number).
AGREEMENTS = (
    ("bhxh", None, ("profile", "identity", "work", "salary"), "01/2026/TTLT-BNV-BHXH"),
    ("BTC", ("BTC",), ("profile", "identity", "work", "qualification", "salary"), "02/2026/QĐ-BNV"),
    ("BYT", ("BYT",), ("profile", "identity", "work", "qualification", "salary"), "03/2026/QĐ-BNV"),
)
AGREEMENT_PERIOD = (date(2026, 1, 1), date(2030, 12, 31))


@dataclass(frozen=True, slots=True)
class SeedReport:
    units: int
    positions: int
    officials: int
    accounts: int
    child_records: int


async def seed(
    engine: AsyncEngine,
    *,
    officials: int,
    seed: int = 1,
    password_hash: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> SeedReport:
    if officials < 1:
        raise BadInput("--officials must be at least 1")
    structure = build(seed)
    assignment = assign(structure, officials, seed)
    generator = Generator(structure, assignment, seed, password_hash)
    children = 0
    async with engine.begin() as conn:
        if await _holds_data(conn):
            raise BadInput("The database already holds data; seed only an empty database.")
        writer = _Writer(conn)
        await writer.start()
        await writer.write("unit", UNIT_COLUMNS, [u.row() for u in structure.units])
        quota_rng = random.Random(f"quota:{seed}")
        await writer.write(
            "position", POSITION_COLUMNS, [p.row(quota_for(quota_rng, p.filled)) for p in structure.positions]
        )
        for start in range(0, officials, CHUNK):
            chunk = generator.chunk(start, min(officials, start + CHUNK))
            children += await writer.write_chunk(chunk)
            if progress:
                progress(min(officials, start + CHUNK))
        staff = await _write_staff_and_agencies(conn, writer, structure, password_hash)
        await _write_agreements(conn, structure)
        # Synthetic data counts as approved for the month before it was generated.
        await versions.approve(conn, period=_previous_month(REFERENCE_TIME.date()), now=REFERENCE_TIME)
        await writer.finish()
    return SeedReport(len(structure.units), len(structure.positions), officials, officials + staff, children)


async def is_empty(engine: AsyncEngine) -> bool:
    """True when nothing has been loaded yet (no unit at all): what `ccvc demo` seeds."""
    async with engine.connect() as conn:
        return not await _holds_data(conn)


async def _holds_data(conn: AsyncConnection) -> bool:
    return bool((await conn.execute(select(func.count()).select_from(table_of(Unit)))).scalar_one())


class _Writer:
    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"

    async def start(self) -> None:
        if self.postgres:
            # The generator's rows are consistent by construction; per-row foreign-key triggers would
            # double the load time of a national seed. Needs a superuser; otherwise checks stay on.
            superuser = (
                await self.conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
            ).scalar()
            if superuser:
                await self.conn.execute(text("SET LOCAL session_replication_role = replica"))

    async def write(self, table: str, columns: Sequence[str], rows: Sequence[tuple[object, ...]]) -> None:
        if not rows:
            return
        if self.postgres:
            raw = await self.conn.get_raw_connection()
            driver = raw.driver_connection  # asyncpg's own connection: COPY has no SQLAlchemy form
            assert driver is not None
            await driver.copy_records_to_table(table, records=rows, columns=list(columns))
        else:
            await self.conn.execute(
                metadata.tables[table].insert(), [dict(zip(columns, row, strict=True)) for row in rows]
            )

    async def write_chunk(self, chunk: Chunk) -> int:
        officials = chunk.officials
        if self.postgres:  # binary COPY takes json as text
            index = OFFICIAL_COLUMNS.index("concurrent_titles")
            officials = [(*row[:index], orjson.dumps(row[index]).decode(), *row[index + 1 :]) for row in officials]
        await self.write("official", OFFICIAL_COLUMNS, officials)
        await self.write("account", ACCOUNT_COLUMNS, chunk.accounts)
        written = 0
        for table, columns in CHILD_COLUMNS.items():
            rows = getattr(chunk, table)
            await self.write(table, columns, rows)
            written += len(rows)
        return written

    async def finish(self) -> None:
        if not self.postgres:
            return
        # COPY with explicit ids leaves the serial sequences behind; later inserts would collide.
        for table in ("unit", "position", "official", "account", "agency"):
            sql = f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT max(id) FROM {table}), 1))"  # noqa: S608
            await self.conn.execute(text(sql))  # table names are the fixed tuple above
        await self.conn.execute(text("ANALYZE"))


async def _write_staff_and_agencies(
    conn: AsyncConnection, writer: _Writer, structure: Structure, password_hash: str | None
) -> int:
    by_code = {u.code: u for u in structure.units}
    now = REFERENCE_TIME
    agency_rows = [(i, code, name) for i, (code, name) in enumerate(AGENCIES, start=1)]
    await writer.write("agency", ("id", "code", "name"), agency_rows)
    bnv = by_code["BNV"]
    staff: list[tuple[object, ...]] = [
        ("admin", "staff", "admin", bnv.id, None, password_hash, False, now, None),
        ("analyst", "staff", "analyst", bnv.id, None, password_hash, False, now, None),
    ]
    for code, _, kind in TOP_UNITS:
        personnel = by_code[f"{code}.{PERSONNEL_DEPARTMENT[kind]}"]
        staff.append((f"hr.{code}", "staff", "hr", personnel.id, None, password_hash, False, now, None))
        staff.append((f"approver.{code}", "staff", "approver", by_code[code].id, None, password_hash, False, now, None))
    # Managers for every department and public service unit: enough to try the subtree rules anywhere.
    for unit in structure.units:
        if unit.kind in ("DEPARTMENT", "PUBLIC_SERVICE_UNIT"):
            staff.append((f"manager.{unit.code}", "staff", "manager", unit.id, None, password_hash, False, now, None))
    for agency_id, code, _ in agency_rows:
        staff.append((f"agency.{code}", "agency", "agency", None, None, password_hash, False, now, agency_id))
    await writer.write("account", (*ACCOUNT_COLUMNS, "agency_id"), staff)
    return len(staff)


async def _write_agreements(conn: AsyncConnection, structure: Structure) -> None:
    ids = {u.code: u.id for u in structure.units}
    for agency_id, (code, top_units, groups, document) in enumerate(AGREEMENTS, start=1):
        assert AGENCIES[agency_id - 1][0] == code
        await agreements.create(
            conn,
            agency_id=agency_id,
            top_unit_ids=None if top_units is None else [ids[c] for c in top_units],
            fields=groups,
            document_number=document,
            valid_from=AGREEMENT_PERIOD[0],
            valid_to=AGREEMENT_PERIOD[1],
            now=REFERENCE_TIME,
        )


def _previous_month(day: date) -> str:
    return f"{day.year - 1}-12" if day.month == 1 else f"{day.year}-{day.month - 1:02d}"
