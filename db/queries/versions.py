"""The data version receipts cite: the last approved period and a counter of approvals, on the receipt
log's head row. A receipt batch reads it with the numbers it takes (db/queries/receipts.reserve)."""

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import LogHead, table_of

HEAD = table_of(LogHead)


async def approve(conn: AsyncConnection, *, period: str, now: datetime) -> None:
    """Record that the data of `period` (YYYY-MM) is approved: the period moves, the version counts up.
    The UPDATE takes the receipt log's head lock, so every receipt numbered after the approval commits
    cites the new version and none numbered before it does."""
    values = {"period": period, "version": HEAD.c.version + 1, "version_updated_at": now}
    await conn.execute(update(HEAD).where(HEAD.c.id == 1).values(**values))
