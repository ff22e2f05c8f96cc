"""Partner agencies' data-sharing agreements: which top-level units and fields each may read."""

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Agreement, table_of

AGREEMENT = table_of(Agreement)


async def active_for_agency(conn: AsyncConnection, *, agency_id: int, today: date) -> list[Row[Any]]:
    c = AGREEMENT.c
    stmt = (
        select(AGREEMENT)
        .where(c.agency_id == agency_id, c.revoked_at.is_(None), c.valid_from <= today, c.valid_to >= today)
        .order_by(c.id)
    )
    return list((await conn.execute(stmt)).all())


async def create(
    conn: AsyncConnection,
    *,
    agency_id: int,
    top_unit_ids: Sequence[int] | None,
    fields: Sequence[str],
    document_number: str,
    valid_from: date,
    valid_to: date,
    now: datetime,
) -> int:
    stmt = insert(AGREEMENT).values(
        agency_id=agency_id,
        top_unit_ids=sorted(top_unit_ids) if top_unit_ids is not None else None,
        fields=" ".join(fields),
        document_number=document_number,
        valid_from=valid_from,
        valid_to=valid_to,
        created_at=now,
    )
    return int((await conn.execute(stmt.returning(AGREEMENT.c.id))).scalar_one())


async def allows_introspection(conn: AsyncConnection, *, agency_id: int, today: date) -> bool:
    """Whether an agreement of the agency in force today lets it introspect the schema."""
    rows = await active_for_agency(conn, agency_id=agency_id, today=today)
    return any(row.allows_introspection for row in rows)


async def set_introspection(conn: AsyncConnection, *, agency_id: int, allowed: bool) -> int:
    """Allow or refuse introspection in every agreement of the agency that is not revoked; how many."""
    c = AGREEMENT.c
    stmt = (
        update(AGREEMENT).where(c.agency_id == agency_id, c.revoked_at.is_(None)).values(allows_introspection=allowed)
    )
    result: Any = await conn.execute(stmt)
    return int(result.rowcount)
