"""Exported files, kept for their requester until they expire."""

from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import ExportFile, ReceiptEntry, table_of

EXPORT = table_of(ExportFile)
ENTRY = table_of(ReceiptEntry)


async def create(
    conn: AsyncConnection,
    *,
    export_id: str,
    account_id: int,
    format: str,
    content: bytes,
    sha256: str,
    row_count: int,
    rid: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await conn.execute(
        insert(EXPORT).values(
            id=export_id,
            account_id=account_id,
            format=format,
            content=content,
            sha256=sha256,
            row_count=row_count,
            rid=rid,
            created_at=now,
            expires_at=expires_at,
        )
    )


async def get_for_account(conn: AsyncConnection, *, export_id: str, account_id: int, now: datetime) -> Row[Any] | None:
    """The export with its receipt, only for the account that made it and only until it expires:
    anyone else, or later, gets nothing (not "forbidden"), so ids reveal nothing."""
    stmt = (
        select(EXPORT, ENTRY.c.receipt)
        .join(ENTRY, ENTRY.c.rid == EXPORT.c.rid)
        .where(EXPORT.c.id == export_id, EXPORT.c.account_id == account_id, EXPORT.c.expires_at > now)
    )
    return (await conn.execute(stmt)).one_or_none()


async def delete_expired(conn: AsyncConnection, *, now: datetime) -> int:
    """Drop expired files (their receipts stay in the log for good)."""
    result = await conn.execute(delete(EXPORT).where(EXPORT.c.expires_at <= now))
    return int(result.rowcount or 0)
