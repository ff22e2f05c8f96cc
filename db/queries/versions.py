"""The data version receipts cite: the last approved period and a counter of approvals, on the receipt
log's head row. A receipt batch reads it with the numbers it takes (db/queries/receipts.reserve)."""

from datetime import datetime

from sqlalchemy import case, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import LogHead, table_of

HEAD = table_of(LogHead)


async def approve(conn: AsyncConnection, *, period: str, now: datetime) -> None:
    """Record that the data of `period` (YYYY-MM) is approved: the version counts up, the period moves
    to it unless a later month is approved already.
    The UPDATE takes the receipt log's head lock, so every receipt numbered after the approval commits
    cites the new version and none numbered before it does."""
    # The period only moves forward: a batch of an earlier month (a ministry's late bundle) counts as an
    # approval, but the data served is as of the latest month approved.
    later = case((or_(HEAD.c.period.is_(None), HEAD.c.period < period), period), else_=HEAD.c.period)
    values = {"period": later, "version": HEAD.c.version + 1, "version_updated_at": now}
    await conn.execute(update(HEAD).where(HEAD.c.id == 1).values(**values))


async def current(conn: AsyncConnection) -> int:
    """The data version: it counts up with every approval and every applied sync bundle, the only
    writes to officials' records."""
    return int((await conn.execute(select(HEAD.c.version).where(HEAD.c.id == 1))).scalar_one())
