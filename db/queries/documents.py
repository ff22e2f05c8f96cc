"""Trusted documents: the GraphQL operations agencies registered, named by the SHA-256 of their text.

Like agencies and their keys, these are read before any scope exists (they decide what a request may
run at all), so no function here takes one; only the gateway and the CLI call them.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import Agency, TrustedDocument, table_of

DOCUMENT = table_of(TrustedDocument)
AGENCY = table_of(Agency)


async def get_text(conn: AsyncConnection, *, agency_id: int, sha256: str) -> str | None:
    """The text of the agency's document with this digest, unless it is revoked or was never registered."""
    c = DOCUMENT.c
    stmt = select(c.document).where(c.agency_id == agency_id, c.sha256 == sha256, c.revoked_at.is_(None))
    return (await conn.execute(stmt)).scalar_one_or_none()


async def register(
    conn: AsyncConnection,
    *,
    agency_id: int,
    sha256: str,
    document: str,
    operation_names: list[str],
    registered_by: str,
    now: datetime,
) -> bool:
    """Register a document for the agency; False when it is registered and active already (nothing
    changes). A revoked one is registered again: the same text, reviewed anew."""
    c = DOCUMENT.c
    found = (await conn.execute(select(c.id, c.revoked_at).where(c.agency_id == agency_id, c.sha256 == sha256))).first()
    if found is not None and found.revoked_at is None:
        return False
    values = {"operation_names": " ".join(operation_names), "registered_by": registered_by, "registered_at": now}
    if found is None:
        await conn.execute(insert(DOCUMENT).values(agency_id=agency_id, sha256=sha256, document=document, **values))
    else:
        await conn.execute(update(DOCUMENT).where(c.id == found.id).values(revoked_at=None, **values))
    return True


async def list_(conn: AsyncConnection, *, agency_id: int | None = None) -> list[Row[Any]]:
    """Every registered document (revoked ones too), with its agency's code, by agency then date."""
    c = DOCUMENT.c
    stmt = select(
        c.sha256, c.operation_names, c.registered_by, c.registered_at, c.revoked_at, AGENCY.c.code.label("agency")
    ).join(AGENCY, AGENCY.c.id == c.agency_id)
    if agency_id is not None:
        stmt = stmt.where(c.agency_id == agency_id)
    return list((await conn.execute(stmt.order_by(AGENCY.c.code, c.registered_at, c.sha256))).all())


async def revoke(conn: AsyncConnection, *, sha256: str, agency_id: int | None, now: datetime) -> int:
    """Revoke the active document with this digest (of one agency, or of every agency that registered
    it); how many were revoked."""
    c = DOCUMENT.c
    stmt = update(DOCUMENT).where(c.sha256 == sha256, c.revoked_at.is_(None)).values(revoked_at=now)
    if agency_id is not None:
        stmt = stmt.where(c.agency_id == agency_id)
    result: Any = await conn.execute(stmt)
    return int(result.rowcount)
